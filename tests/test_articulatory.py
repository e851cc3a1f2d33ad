"""Tests for model/articulatory.py: inventory coverage of espeak-ng, features and visemes."""

from __future__ import annotations

import numpy as np
import pytest

from localize.phonemes import phonemize, synthesize
from model.articulatory import (
    ALVEOLAR,
    FRICATIVE,
    HEIGHT,
    INVENTORY,
    LONG,
    N_ARTICULATORY,
    N_VISEMES,
    NASAL,
    STRESSED,
    VOWEL,
    normalize,
)
from model.config import JointConfig

SENTENCES = {
    "en-US": (
        "The quick brown fox jumps over the lazy dog.",
        "She thought about the measure of joy in their voices.",
        "Why would you choose the orange chair near the tower, Ava?",
        "Pleasure, vision, bottle, button, hour, cure, bird, fire.",
    ),
    "de-DE": (
        "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.",
        "Ich möchte noch ein Stück Kuchen, bitte.",
        "Pfeffer, Zucker, Bäume, häufig, Fenster, Löwe, Brücke, Uhr.",
    ),
    "fr-FR": (
        "Portez ce vieux whisky au juge blond qui fume.",
        "Un bon vin blanc, les enfants chantent dans la montagne.",
        "Il faut que tu viennes lundi avec ta sœur et le chien.",
    ),
    "es-ES": (
        "El veloz murciélago hindú comía feliz cardillo y kiwi.",
        "La cigüeña tocaba el saxofón detrás del palenque de paja.",
        "Perro, pero, llave, año, jugar, queso, guerra.",
    ),
    "it-IT": (
        "Quel vituperabile xenofobo zelante assaggia il whisky ed esclama: alleluja!",
        "Gli gnocchi della nonna sono buonissimi, scegli tu.",
        "Pizza, zucchero, cielo, ghiaccio, figlio, sciarpa, rosso.",
    ),
    "pt-BR": (
        "À noite, vovô Kowalsky vê o ímã cair no pé do pinguim queixoso.",
        "Não tenho tempo para isso, mãe, vamos embora.",
        "Chuva, gente, milho, carro, cidade, leite, muito, Brasil.",
    ),
    "ja-JP": (
        "おはようございます、コーヒーができました。",
        "今日はとても良い天気ですね。",
        "しんぶん、きって、がっこう、りんご、ちゃわん、じゅんばん。",
    ),
}


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_every_espeak_phoneme_is_in_the_inventory(lang: str) -> None:
    spoken = [p.ipa for s in SENTENCES[lang] for p in synthesize(s, lang).phonemes.phonemes]
    split = [p for s in SENTENCES[lang] for w in phonemize(s, lang) for p in INVENTORY.split(w.ipa)]
    missing = sorted({p for p in spoken + split if INVENTORY.lookup(p) is None})
    assert not missing, f"{lang}: not in the inventory: {missing}"
    assert all(INVENTORY.index(p) != 1 for p in spoken + split)


def test_sizes_agree_with_the_model_config() -> None:
    config = JointConfig()
    assert config.n_articulatory == N_ARTICULATORY
    assert len(INVENTORY.symbols) <= config.n_phonemes - 2
    assert INVENTORY.symbols[:2] == ("_", "<unk>")
    assert INVENTORY.index("_") == 0


def test_features_shape_and_dtype() -> None:
    for ipa in ("ˈaɪ", "tʃ", "_", "ɐ̃", "ʙ"):
        row = INVENTORY.features(ipa)
        assert row.shape == (N_ARTICULATORY,)
        assert row.dtype == np.float32
        assert np.isfinite(row).all()


@pytest.mark.parametrize(
    ("ipa", "base", "stressed", "long"),
    [("ˈaɪ", "aɪ", True, False), ("ˌɛ", "ɛ", True, False), ("iː", "i", False, True),
     ("ˈɔːɹ", "ɔɹ", True, True), ("ss", "s", False, True), ("n̩", "n", False, False),
     ("sə-", "sə", False, False), ("tʃ", "tʃ", False, False)],
)  # fmt: skip
def test_normalize_strips_stress_and_length(
    ipa: str, base: str, stressed: bool, long: bool
) -> None:
    assert normalize(ipa) == (base, stressed, long)


def test_stress_and_length_are_flagged_not_new_symbols() -> None:
    assert INVENTORY.index("ˈiː") == INVENTORY.index("i")
    plain, marked = INVENTORY.features("i"), INVENTORY.features("ˈiː")
    assert (plain[LONG], plain[STRESSED]) == (0.0, 0.0)
    assert (marked[LONG], marked[STRESSED]) == (1.0, 1.0)
    assert INVENTORY.features("ˌi")[STRESSED] == 0.5


def test_unseen_symbols_land_on_articulatory_neighbours() -> None:
    lateral_fricative = INVENTORY.symbols[INVENTORY.index("ɮ")]
    row = INVENTORY.features(lateral_fricative)
    assert row[ALVEOLAR] == 1.0 and row[FRICATIVE] == 1.0  # z: same place and manner
    assert INVENTORY.symbols[INVENTORY.index("ɳ")] == "n"  # retroflex nasal: the alveolar one
    assert INVENTORY.symbols[INVENTORY.index("ʂ")] == "ʃ"
    assert INVENTORY.symbols[INVENTORY.index("k̃")] == "k"  # odd diacritic, same letter
    assert INVENTORY.index("ʙ") == 1  # a letter without features: unknown


def test_unseen_nasal_vowel_features_come_from_its_diacritic() -> None:
    row = INVENTORY.features("ã")
    assert row[VOWEL] == 1.0 and row[NASAL] == 1.0 and row[HEIGHT] == 0.0
    neighbour = INVENTORY.features(INVENTORY.symbols[INVENTORY.index("ã")])
    assert neighbour[VOWEL] == 1.0 and neighbour[NASAL] == 1.0


def test_visemes_group_by_mouth_shape() -> None:
    assert INVENTORY.n_visemes == N_VISEMES
    assert len({INVENTORY.viseme(p) for p in ("p", "b", "m")}) == 1
    assert INVENTORY.viseme("f") == INVENTORY.viseme("v") != INVENTORY.viseme("p")
    assert INVENTORY.viseme("θ") == INVENTORY.viseme("ð")
    assert INVENTORY.viseme("a") != INVENTORY.viseme("p")
    assert INVENTORY.viseme("_") == 0
    assert INVENTORY.viseme("ˈuː") == INVENTORY.viseme("w")
    ids = {INVENTORY.viseme(s) for s in INVENTORY.symbols}
    assert ids <= set(range(N_VISEMES))


def test_split_keeps_stress_on_its_phoneme() -> None:
    assert INVENTORY.split("ˈɔːɹɪndʒ") == ("ˈɔːɹ", "ɪ", "n", "dʒ")
    assert INVENTORY.split("kˌeɪʃˈozʊ") == ("k", "ˌeɪ", "ʃ", "ˈo", "z", "ʊ")
