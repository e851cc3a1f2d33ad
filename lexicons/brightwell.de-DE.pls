<?xml version="1.0" encoding="UTF-8"?>
<!-- The German Brightwell pronunciation as a W3C PLS 1.0 lexicon, the form many voice and
     localization tools exchange; it must say what brightwell.yaml says for de-DE. -->
<lexicon version="1.0" alphabet="ipa" xml:lang="de-DE"
         xmlns="http://www.w3.org/2005/01/pronunciation-lexicon">
  <lexeme>
    <grapheme>Brightwell</grapheme>
    <phoneme>ˈbʁaɪtvɛl</phoneme>
  </lexeme>
</lexicon>
