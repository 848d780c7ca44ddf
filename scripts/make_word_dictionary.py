"""Regenerate msm4sr/words_en.txt, the default word dictionary D of Eq. (2) (image -> keywords).

Source: wordfreq 3.1.1 (Robyn Speer et al.; code Apache-2.0, word-frequency data CC BY-SA 4.0),
`top_n_list("en", 40000)` — English words ranked by frequency across Wikipedia, subtitles, news, books,
web text, Twitter and Reddit. Filtering: lowercase ASCII letters only (no digits, apostrophes or
hyphens), length 3-20, minus the English function words below, minus every word of the profanity list of
better-profanity 0.7.0 (MIT), since keywords are shown to people (Fig. 2, merchants); the 20,000 most
frequent that remain are kept, in frequency order. The list is dataset-independent.

Run:  pip install wordfreq==3.1.1 better-profanity==0.7.0 && python scripts/make_word_dictionary.py
"""
import re
from pathlib import Path
from importlib import resources
from wordfreq import top_n_list

N_WORDS = 20_000
STOP = set("""a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
off on once only or other our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours yourself yourselves also get got let may might must shall
yes yeah okay ok via per etc im ive dont cant wont didnt doesnt isnt thats youre""".split())

OFFENSIVE = set(resources.files("better_profanity").joinpath("profanity_wordlist.txt").read_text().split())
words = [w for w in top_n_list("en", 40_000)
         if re.fullmatch(r"[a-z]{3,20}", w) and w not in STOP and w not in OFFENSIVE][:N_WORDS]
header = ["# msm4sr default word dictionary D (Eq. 2): " + f"{len(words)} English words, most frequent first.",
          "# Derived from wordfreq 3.1.1 top_n_list('en', 40000) (data CC BY-SA 4.0, Robyn Speer et al.);",
          "# kept: lowercase a-z only, 3-20 letters, not a function word, not in better-profanity 0.7.0's list.",
          "# See scripts/make_word_dictionary.py."]
out = Path(__file__).resolve().parents[1] / "msm4sr" / "words_en.txt"
out.write_text("\n".join(header + words) + "\n")
print(f"wrote {len(words)} words to {out}")
