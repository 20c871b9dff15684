"""Intent classifier: TF-IDF-weighted sparse sentence features → logistic regression.

On our ~700 examples it generalises as well as or better than DIET (5-fold weighted F1 0.861 vs
0.833 measured on the same data), trains in a second instead of a minute and a half, and gives
calibrated-enough probabilities for the FallbackClassifier. The fitted model is stored as plain
JSON arrays (no pickle). Today's figures (seeded CV, held-out set): README, "Intents".
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Text

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

MODEL_FILE = "intent_logreg.json"


def sentence_features(messages: List[Message]) -> scipy.sparse.csr_matrix:
    """Every featurizer's sparse sentence features, side by side, one row per message."""
    rows = []
    for message in messages:
        sparse = message.get_sparse_features(TEXT)[1]
        rows.append(scipy.sparse.csr_matrix(sparse.features) if sparse is not None else scipy.sparse.csr_matrix((1, 0)))
    return scipy.sparse.vstack(rows).tocsr()


def tfidf(counts: scipy.sparse.csr_matrix, idf: np.ndarray) -> scipy.sparse.csr_matrix:
    """Sublinear term frequency × idf, rows L2-normalised (scikit-learn's TfidfTransformer)."""
    weighted = counts.astype(np.float64).tocsr(copy=True)
    weighted.data = 1.0 + np.log(np.maximum(weighted.data, 1e-12))
    weighted = weighted.multiply(idf[np.newaxis, :]).tocsr()
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1))).ravel()
    norms[norms == 0] = 1.0
    return scipy.sparse.diags(1.0 / norms) @ weighted


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class VietnameseIntentClassifier(GraphComponent, IntentClassifier):
    @classmethod
    def required_components(cls) -> List[type]:
        return [Featurizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"C": 10.0, "max_iter": 3000, "ranking_length": 10}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 model: Optional[Dict[str, Any]] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model
        # Arrays built once: converting the stored lists per message cost more than predicting.
        self._arrays = (np.asarray(model["idf"]), np.asarray(model["coef"]).T.copy(),
                        np.asarray(model["intercept"])) if model else None

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "VietnameseIntentClassifier":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        examples = [m for m in training_data.intent_examples if m.get(INTENT) and m.get(TEXT)]
        if not examples:
            return self._resource
        counts = sentence_features(examples)
        documents = np.asarray((counts > 0).sum(axis=0)).ravel()
        idf = np.log((1 + len(examples)) / (1 + documents)) + 1.0
        clf = LogisticRegression(C=float(self.config["C"]), max_iter=int(self.config["max_iter"]),
                                 class_weight="balanced", random_state=42)
        clf.fit(tfidf(counts, idf), [m.get(INTENT) for m in examples])
        self.model = {"classes": clf.classes_.tolist(), "coef": clf.coef_.tolist(),
                      "intercept": clf.intercept_.tolist(), "idf": idf.tolist()}
        self._arrays = (idf, clf.coef_.T.copy(), clf.intercept_)
        with self._model_storage.write_to(self._resource) as path:
            (path / MODEL_FILE).write_text(json.dumps(self.model), encoding="utf-8")
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "VietnameseIntentClassifier":
        try:
            with model_storage.read_from(resource) as path:
                model = json.loads((path / MODEL_FILE).read_text(encoding="utf-8"))
        except ValueError:   # trained without NLU data
            model = None
        return cls(config, model_storage, resource, model)

    def process(self, messages: List[Message]) -> List[Message]:
        if not self._arrays or not messages:
            return messages
        idf, coef_t, intercept = self._arrays
        features = tfidf(sentence_features(messages), idf)
        scores = np.asarray(features @ coef_t) + intercept
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        probabilities = scores / scores.sum(axis=1, keepdims=True)
        for message, row in zip(messages, probabilities):
            ranking = sorted(({"name": name, "confidence": float(p)} for name, p in zip(self.model["classes"], row)),
                             key=lambda r: -r["confidence"])
            message.set("intent", ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking[: int(self.config["ranking_length"])], add_to_output=True)
        return messages
