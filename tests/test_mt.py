"""Machine translation from tiny local models built here: determinism, glossary masking, errors."""

from __future__ import annotations

import json
import random
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from localize import mt
from localize.errors import SpecError
from localize.spec import Job, load_job
from localize.translate import Glossary, GlossaryTerm, translate_job

APPROVED = "Der bessere Start in den Tag."
GLOSSARY = Glossary(
    terms=(
        GlossaryTerm("Brightwell", translate=False),
        GlossaryTerm("Wake up to something better.", translations={"de-DE": APPROVED}),
    )
)
SCRIPT = {
    "L1": "Every morning starts the same way.",
    "L2": "Brightwell. Smooth, rich, and ready in a minute.",
    "L3": "Good morning. Wake up to something better.",
    "L4": "Wake up to something better.",
    "L5": "The best part of your day is Brightwell.",
    "L6": "Brightwell. Wake up to something better.",
}
# fmt: off
WORDS = [
    "every", "morning", "starts", "the", "same", "way", "alarm", "rush", "cold", "cup", "you",
    "never", "finished", "so", "we", "slowed", "down", "and", "roasted", "our", "beans", "for",
    "twice", "as", "long", "smooth", "rich", "ready", "in", "a", "minute", "because", "best",
    "part", "of", "your", "day", "should", "not", "wait", "until", "noon", "good", "is", "here",
]
# fmt: on
COPY_STEPS = 900  # enough for the 32-wide model to copy unseen lines, digits included (~10 s)


def _toy_sentence(rng: random.Random) -> str:
    """Random words with placeholder-like numbers in random places: the copy task's data."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(1, 7))]
    for _ in range(rng.randint(0, 2)):
        words.insert(rng.randint(0, len(words)), str(mt.PLACEHOLDER_BASE + rng.randint(0, 8)))
    text = words[0].capitalize() if rng.random() < 0.5 else words[0]
    for word in words[1:]:
        separator = rng.choice([" "] * 6 + [", ", ". "])
        text += separator + (word.capitalize() if separator == ". " else word)
    return text + rng.choice([".", "!", "", ","])


def _sentencepiece(folder: Path, rng: random.Random, vocab_size: int) -> Path:
    import sentencepiece

    corpus = folder / "corpus.txt"
    lines = [_toy_sentence(rng) for _ in range(60)] + [" ".join(w.capitalize() for w in WORDS)]
    corpus.write_text("\n".join(lines) + "\n")
    sentencepiece.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(folder / "sp"),
        vocab_size=vocab_size,
        model_type="unigram",
        hard_vocab_limit=False,  # the toy corpus may not hold vocab_size pieces
        character_coverage=1.0,
        split_digits=True,  # placeholders are copied digit by digit
        bos_id=-1,
        eos_id=-1,
        unk_id=0,
        minloglevel=2,
    )
    return folder / "sp.model"


def _copy_train(model: Any, tokenizer: Any, rng: random.Random, steps: int) -> None:
    """Fit the model to copy its input: a stand-in translator that must pass numbers through."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    pad = model.config.pad_token_id
    model.train()
    for _ in range(steps):
        texts = [_toy_sentence(rng) for _ in range(32)]
        batch = tokenizer(texts, text_target=texts, return_tensors="pt", padding=True)
        labels = batch["labels"].masked_fill(batch["labels"] == pad, -100)
        loss = model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels
        ).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny models run faster on one thread: on a busy machine, OpenMP workers spin for more time
    than they save (the copy training takes minutes instead of seconds)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def marian_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny English->English Marian model trained to copy, saved like an opus-mt folder."""
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    work = tmp_path_factory.mktemp("marian")
    folder = work / "model"
    folder.mkdir()
    rng = random.Random(0)
    spm = _sentencepiece(work, rng, vocab_size=100)
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_file=str(spm))
    vocab = {"</s>": 0, "<unk>": 1}  # Marian's layout: eos 0, unk 1, pad last
    for index in range(processor.get_piece_size()):
        vocab.setdefault(processor.id_to_piece(index), len(vocab))
    vocab["<pad>"] = len(vocab)
    (work / "vocab.json").write_text(json.dumps(vocab))
    with warnings.catch_warnings():  # it asks for sacremoses, which the toy data does not need
        warnings.simplefilter("ignore")
        tokenizer = MarianTokenizer(
            source_spm=str(spm), target_spm=str(spm), vocab=work / "vocab.json"
        )
    torch.manual_seed(0)
    n_vocab, width = len(vocab), 32
    config = MarianConfig(
        vocab_size=n_vocab,
        decoder_vocab_size=n_vocab,
        d_model=width,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=2 * width,
        decoder_ffn_dim=2 * width,
        max_position_embeddings=64,
        pad_token_id=n_vocab - 1,
        decoder_start_token_id=n_vocab - 1,
        eos_token_id=0,
        forced_eos_token_id=0,
        dropout=0.0,
    )
    model = MarianMTModel(config)
    _copy_train(model, tokenizer, rng, COPY_STEPS)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _job(tmp_path: Path, machine: dict[str, Any], script: dict[str, str] = SCRIPT) -> Job:
    data = {
        "source": {"video": "v.mp4"},
        "speakers": [{"name": "Ava"}],
        "script": [{"id": i, "speaker": "Ava", "text": text} for i, text in script.items()],
        "markets": [{"lang": "de-DE"}],
        "translations": {"machine": machine},
    }
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_job(path)


def test_marian_is_deterministic_and_keeps_glossary_terms(marian_dir: Path, tmp_path: Path) -> None:
    job = _job(tmp_path, {"models": {"de-DE": str(marian_dir)}, "beams": 2, "batch_size": 3})
    steps: list[tuple[float, float]] = []
    first = translate_job(
        job, "de-DE", GLOSSARY, lambda step, done, total: steps.append((done, total))
    )
    mt.load_model.cache_clear()  # the second run loads the folder again
    second = translate_job(job, "de-DE", GLOSSARY)
    assert first.lines == second.lines
    assert (first.origin, first.source) == ("machine", marian_dir)
    assert steps == [(3, 4), (4, 4)]  # L4 and L6 are glossary terms only: no MT needed
    assert first.findings == (), first.lines
    for line_id, text in SCRIPT.items():
        if "Brightwell" in text:
            assert "Brightwell" in first.lines[line_id], first.lines
    assert first.lines["L4"] == APPROVED
    assert first.lines["L6"] == f"Brightwell. {APPROVED}"
    assert first.lines["L3"].endswith(APPROVED) and "Wake up" not in first.lines["L3"]


def test_lost_placeholder_and_empty_output_are_findings(
    marian_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _job(tmp_path, {"model": str(marian_dir)}, {"L1": "Brightwell is here.", "L2": "Hello."})
    monkeypatch.setattr(mt, "generate", lambda loaded, texts, *args: ["Es ist da.", ""])
    result = mt.translate_machine(job, "de-DE", GLOSSARY)
    assert result.lines == {"L1": "Es ist da.", "L2": ""}  # kept as the model said, not patched
    assert {(f.severity, f.code, f.line) for f in result.findings} == {
        ("Issue", "glossary.mt_lost", "L1"),
        ("Blocker", "translation.empty", "L2"),
    }


def test_masking_restores_placeholders_tolerantly() -> None:
    mask = mt.mask_line("Brightwell costs 7301. Wake up to something better", GLOSSARY, "de-DE")
    assert mask.text == "7302 costs 7301. 7303"  # 7301 is the line's own number: skipped
    assert not mask.only_placeholders
    restored, lost = mt.unmask("7 302 kostet 7301. 7.303", mask)
    assert restored == "Brightwell kostet 7301. Der bessere Start in den Tag"
    assert lost == []
    assert mt.unmask("kostet 7301.", mask)[1] == ["Brightwell", "Wake up to something better."]
    assert mt.mask_line(
        "Brightwell. Wake up to something better.", GLOSSARY, "de-DE"
    ).only_placeholders


def _write_config(folder: Path, config: dict[str, Any], tokenizer: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    if tokenizer is not None:
        (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer))
    return folder


def test_family_detection(tmp_path: Path) -> None:
    where = "job.yaml: translations.machine.model"
    assert (
        mt.detect_family(_write_config(tmp_path / "a", {"model_type": "marian"}), where) == "marian"
    )
    m2m = _write_config(
        tmp_path / "b", {"model_type": "m2m_100"}, {"tokenizer_class": "M2M100Tokenizer"}
    )
    assert mt.detect_family(m2m, where) == "m2m100"
    nllb = _write_config(
        tmp_path / "c", {"model_type": "m2m_100"}, {"tokenizer_class": "NllbTokenizer"}
    )
    assert mt.detect_family(nllb, where) == "nllb"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (None, "no such folder"),
        ({}, "no readable config.json"),
        ({"model_type": "bert"}, "model_type 'bert' is not a sequence-to-sequence model"),
        ({"model_type": "t5"}, "unsupported model family 't5'"),
    ],
)
def test_unusable_model_folder_names_the_field(
    tmp_path: Path, config: dict[str, Any] | None, expected: str
) -> None:
    folder = tmp_path / "model"
    if config is not None:
        _write_config(folder, config)
    job = _job(tmp_path, {"model": str(folder)})
    with pytest.raises(SpecError) as info:
        translate_job(job, "de-DE", GLOSSARY)
    [problem] = info.value.problems
    assert problem.startswith(f"{tmp_path / 'job.yaml'}: translations.machine.model: {folder}: ")
    assert expected in problem


class _FakeNllb:
    def get_vocab(self) -> dict[str, int]:
        return {"eng_Latn": 1, "deu_Latn": 2, "jpn_Jpan": 3}


def test_language_codes() -> None:
    assert [mt.FLORES[c] for c in ("en", "de", "ja")] == ["eng_Latn", "deu_Latn", "jpn_Jpan"]
    assert mt.language_code("nllb", "de-DE", _FakeNllb()) == "deu_Latn"
    assert mt.language_code("nllb", "ja-JP", _FakeNllb()) == "jpn_Jpan"
    with pytest.raises(ValueError, match="no FLORES code for fr-FR"):
        mt.language_code("nllb", "fr-FR", _FakeNllb())
    m2m = type("T", (), {"lang_code_to_id": {"de": 5, "en": 6}})()
    assert mt.language_code("m2m100", "de-AT", m2m) == "de"
    with pytest.raises(ValueError, match="no language code 'pt'"):
        mt.language_code("m2m100", "pt-BR", m2m)
    marian = type("T", (), {"supported_language_codes": [">>deu<<", ">>fra<<"]})()
    assert mt.language_code("marian", "de-DE", marian) == ">>deu<<"
    with pytest.raises(ValueError, match="no target token for es-ES"):
        mt.language_code("marian", "es-ES", marian)
    pair = type("T", (), {"supported_language_codes": []})()
    assert mt.language_code("marian", "de-DE", pair) is None


@pytest.fixture(scope="module")
def m2m_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained tiny M2M100 with a real M2M100Tokenizer (sentencepiece + vocab.json)."""
    from transformers import M2M100Config, M2M100ForConditionalGeneration, M2M100Tokenizer

    work = tmp_path_factory.mktemp("m2m")
    spm = _sentencepiece(work, random.Random(1), vocab_size=60)
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_file=str(spm))
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}  # fairseq's layout
    for index in range(processor.get_piece_size()):
        vocab.setdefault(processor.id_to_piece(index), len(vocab))
    (work / "vocab.json").write_text(json.dumps(vocab))
    shutil.copy(spm, work / "sentencepiece.bpe.model")
    tokenizer = M2M100Tokenizer(
        vocab_file=str(work / "vocab.json"), spm_file=str(work / "sentencepiece.bpe.model")
    )
    torch.manual_seed(0)
    config = M2M100Config(
        # Language tokens sit after the vocabulary, then fairseq's made-up words.
        vocab_size=len(vocab) + len(tokenizer.lang_code_to_id) + tokenizer.num_madeup_words,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
    )
    folder = work / "model"
    M2M100ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_m2m100_forces_the_target_language(
    m2m_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = _job(tmp_path, {"model": str(m2m_dir), "beams": 2})
    loaded = mt.load_model(m2m_dir, f"{job.path}: translations.machine.model")
    assert loaded.family == "m2m100"
    seen: list[torch.Tensor] = []
    generate = loaded.model.generate

    def spy(**kwargs: Any) -> torch.Tensor:
        ids = generate(**kwargs)
        seen.append(ids)
        return ids

    monkeypatch.setattr(loaded.model, "generate", spy)
    first = mt.translate_machine(job, "de-DE", GLOSSARY)
    second = mt.translate_machine(job, "de-DE", GLOSSARY)
    assert first.lines == second.lines and set(first.lines) == set(SCRIPT)
    german = loaded.tokenizer.get_lang_id("de")
    assert all(bool((ids[:, 1] == german).all()) for ids in seen)  # after decoder start
    with pytest.raises(SpecError, match=r"translations\.machine\.model: .*no language code 'xx'"):
        mt.translate_machine(job.model_copy(update={"source_lang": "xx-XX"}), "de-DE")
