"""Simple baselines trained on a run's own training data, so a report shows what the encoder buys.

`majority` always predicts the most frequent training label (set); `keyword_lexicon` counts cue
words (the framing cues of LABELS.md, or for other labels the words with the highest smoothed
log-odds per label in the training data); `tfidf_logreg` is TF-IDF n-grams with logistic
regression (the stance target as an extra one-hot feature).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

# Stems matched at the start of a word, lower case; earlier labels win ties, because a denial
# usually names the charge it denies.
FRAMING_LEXICON: dict[str, list[str]] = {
    "denial": [
        "deni",
        "deny",
        "reject",
        "dismiss",
        "refut",
        "baseless",
        "absurd",
        "unfounded",
        "nothing to do with",
        "fake news",
        "no intention",
        "rebuff",
        "categorically",
        "false",
    ],
    "diplomatic_proposal": [
        "propos",
        "offer",
        "talks",
        "negotiat",
        "summit",
        "ceasefire",
        "cease-fire",
        "truce",
        "mediat",
        "peace plan",
        "dialogue",
        "de-escalat",
        "ready to",
        "invit",
        "agreed to",
    ],
    "accusation": [
        "accus",
        "blam",
        "alleg",
        "held responsible",
        "responsible for",
        "condemn",
        "staged",
        "provocation",
        "provok",
        "violat",
        "lying",
        "aggression",
        "aggressor",
        "war crime",
        "sabotag",
        "interfer",
        "terroris",
    ],
}
LEARNED_WORDS_PER_LABEL = 20
LEARNED_MIN_DOCUMENTS = 3
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)
DEFAULT_C = 10.0


@dataclass
class LabelledTexts:
    texts: list[str]
    targets: list[str] | None
    gold: np.ndarray  # label ids, or a multi-hot matrix for multi-label runs


@dataclass
class Baseline:
    name: str
    description: str
    multi_label: bool

    def fit(self, train: LabelledTexts, dev: LabelledTexts | None = None) -> Baseline:
        raise NotImplementedError

    def predict(self, texts: list[str], targets: list[str] | None) -> np.ndarray:
        raise NotImplementedError


@dataclass
class MajorityBaseline(Baseline):
    name: str = "majority"
    description: str = "always the most frequent training label"
    multi_label: bool = False
    prediction: np.ndarray | int | None = None

    def fit(self, train, dev=None):
        if self.multi_label:
            label_sets = Counter(tuple(row) for row in np.asarray(train.gold, dtype=int))
            self.prediction = np.array(label_sets.most_common(1)[0][0])
        else:
            self.prediction = int(np.bincount(train.gold).argmax())
        return self

    def predict(self, texts, targets):
        if self.multi_label:
            return np.tile(self.prediction, (len(texts), 1))
        return np.full(len(texts), self.prediction)


def _cue_pattern(cues: list[str], whole_words: bool) -> re.Pattern[str]:
    # Longest first, so that a cue is not shadowed by a shorter one it starts with.
    alternatives = "|".join(re.escape(cue) for cue in sorted(cues, key=len, reverse=True))
    return re.compile(r"\b(?:" + alternatives + ")" + (r"\b" if whole_words else ""))


@dataclass
class KeywordLexiconBaseline(Baseline):
    name: str = "keyword_lexicon"
    description: str = "counts cue words per label"
    multi_label: bool = False
    label_names: list[str] = field(default_factory=list)
    lexicon: dict[str, dict[str, float]] = field(default_factory=dict)  # label -> word -> weight
    default: np.ndarray | int | None = None
    patterns: dict[str, re.Pattern[str]] = field(default_factory=dict)

    def fit(self, train, dev=None):
        label_names = self.label_names
        builtin = all(label in label_names for label in FRAMING_LEXICON)
        if builtin:
            self.description = "framing cue words of LABELS.md; no cue: the most frequent label"
            self.lexicon = {
                label: dict.fromkeys(stems, 1.0) for label, stems in FRAMING_LEXICON.items()
            }
        else:
            self.description = (
                f"top {LEARNED_WORDS_PER_LABEL} words per label by log-odds in the training "
                "data; no cue: the most frequent label"
            )
            self.lexicon = learned_lexicon(
                train.texts, np.asarray(train.gold), label_names, self.multi_label
            )
        self.patterns = {
            label: _cue_pattern(list(words), whole_words=not builtin)
            for label, words in self.lexicon.items()
        }
        majority = MajorityBaseline(multi_label=self.multi_label).fit(train)
        self.default = majority.prediction
        return self

    def _scores(self, text: str) -> np.ndarray:
        lowered = text.lower()
        scores = np.zeros(len(self.label_names))
        for label, pattern in self.patterns.items():
            weights = self.lexicon[label]
            scores[self.label_names.index(label)] = sum(
                weights[match] for match in pattern.findall(lowered)
            )
        return scores

    def predict(self, texts, targets):
        # Ties go to the label listed first in the lexicon.
        priority = [self.label_names.index(label) for label in self.lexicon]
        rows = []
        for text in texts:
            scores = self._scores(text)
            if self.multi_label:
                rows.append((scores > 0).astype(int) if scores.any() else self.default)
            elif scores.any():
                rows.append(
                    max(priority, key=lambda index: (scores[index], -priority.index(index)))
                )
            else:
                rows.append(self.default)
        return np.array(rows)


def learned_lexicon(
    texts: list[str], gold: np.ndarray, label_names: list[str], multi_label: bool
) -> dict[str, dict[str, float]]:
    """For each label, the words most typical of it against the rest (log-odds, add-one)."""
    vectorizer = CountVectorizer(
        binary=True,
        stop_words="english",
        min_df=min(LEARNED_MIN_DOCUMENTS, len(texts)),
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z-]{2,}\b",
    )
    try:
        counts = vectorizer.fit_transform(texts)
    except ValueError:  # no word reaches min_df
        return {label: {} for label in label_names}
    vocabulary = vectorizer.get_feature_names_out()
    lexicon = {}
    for index, label in enumerate(label_names):
        members = gold[:, index].astype(bool) if multi_label else gold == index
        inside = np.asarray(counts[members].sum(axis=0)).ravel() + 1.0
        outside = np.asarray(counts[~members].sum(axis=0)).ravel() + 1.0
        log_odds = np.log(inside / inside.sum()) - np.log(outside / outside.sum())
        best = np.argsort(-log_odds)[:LEARNED_WORDS_PER_LABEL]
        lexicon[label] = {str(vocabulary[i]): float(log_odds[i]) for i in best if log_odds[i] > 0}
    return {label: words for label, words in lexicon.items() if words}


@dataclass
class TfidfLogisticBaseline(Baseline):
    name: str = "tfidf_logreg"
    description: str = "TF-IDF word 1-2-grams + logistic regression (balanced classes)"
    multi_label: bool = False
    seed: int = 0
    pipeline: Pipeline | None = None

    def _features(self, with_target: bool):
        text_features = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        if not with_target:
            return text_features
        return ColumnTransformer(
            [
                ("text", text_features, 0),
                ("target", OneHotEncoder(handle_unknown="ignore"), [1]),
            ]
        )

    def _rows(self, texts, targets):
        if targets is None:
            return list(texts)
        return np.array(list(zip(texts, targets, strict=True)), dtype=object)

    def _fitted(self, train: LabelledTexts, regularisation: float) -> Pipeline:
        model = LogisticRegression(
            C=regularisation,
            solver="saga",  # ten times faster than lbfgs on sparse TF-IDF features
            max_iter=5000,
            class_weight="balanced",
            random_state=self.seed,
        )
        pipeline = Pipeline(
            [
                ("features", self._features(train.targets is not None)),
                ("model", OneVsRestClassifier(model) if self.multi_label else model),
            ]
        )
        return pipeline.fit(self._rows(train.texts, train.targets), np.asarray(train.gold))

    def fit(self, train, dev=None):
        # Like the encoder, whose best checkpoint is picked on dev, the baseline picks C on dev.
        if dev is None:
            self.pipeline = self._fitted(train, DEFAULT_C)
            self.description += f"; C={DEFAULT_C}"
            return self
        best_score = -1.0
        for regularisation in C_GRID:
            pipeline = self._fitted(train, regularisation)
            predicted = pipeline.predict(self._rows(dev.texts, dev.targets))
            score = f1_score(dev.gold, predicted, average="macro", zero_division=0)
            if score > best_score:
                best_score, self.pipeline, chosen = score, pipeline, regularisation
        self.description += (
            f"; C={chosen} chosen on dev macro-F1 among {', '.join(map(str, C_GRID))}"
        )
        return self

    def predict(self, texts, targets):
        return np.asarray(self.pipeline.predict(self._rows(texts, targets)))


def default_baselines(label_names: list[str], multi_label: bool) -> list[Baseline]:
    return [
        MajorityBaseline(multi_label=multi_label),
        KeywordLexiconBaseline(multi_label=multi_label, label_names=list(label_names)),
        TfidfLogisticBaseline(multi_label=multi_label),
    ]
