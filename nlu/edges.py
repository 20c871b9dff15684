"""Where a message starts and ends, as features: its first and last normalised syllables (and pairs).

A bag of n-grams loses position, yet a Vietnamese chat message often says what it wants at its
edges: a leading verb turns "theo dõi Sở Y tế" (follow) into "thôi / hủy / bỏ theo dõi Sở Y tế"
(unfollow), a final particle turns a statement into a question ("… được không", "… chưa"), and a
one-word message ("help", "👍", "bb") is read differently from the same word inside a sentence.
Added to the classifier's features, these cut the seeded 5-fold CV errors by about a tenth
(docs/architecture.md, README: NLU figures).
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
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

VOCABULARY_FILE = "edges.json"


def edge_features(lemmas: List[str]) -> tuple[List[str], List[str]]:
    """(features of the first token, features of the last token) from the tokens' lemmas.

    A lemma may hold several syllables ("ntn" → "nhu the nao"): edges are taken on syllables.
    """
    syllables = [s for lemma in lemmas for s in lemma.split()]
    if not syllables:
        return [], []
    if len(syllables) == 1:
        return [f"only:{syllables[0]}"], []
    return ([f"first:{syllables[0]}", f"first:{syllables[0]} {syllables[1]}"],
            [f"last:{syllables[-1]}", f"last:{syllables[-2]} {syllables[-1]}"])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SentenceEdgeFeaturizer(SparseFeaturizer, GraphComponent):
    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass   # no options of its own

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 execution_context: ExecutionContext, vocabulary: Optional[Dict[str, int]] = None) -> None:
        super().__init__(execution_context.node_name, config)
        self._model_storage = model_storage
        self._resource = resource
        self.vocabulary = vocabulary or {}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SentenceEdgeFeaturizer":
        return cls(config, model_storage, resource, execution_context)

    @staticmethod
    def _edges(message: Message) -> tuple[List[str], List[str]]:
        return edge_features([token.lemma for token in message.get(TOKENS_NAMES[TEXT]) or []])

    def train(self, training_data: TrainingData) -> Resource:
        seen = {feature for message in training_data.training_examples if message.get(TEXT)
                for side in self._edges(message) for feature in side}
        self.vocabulary = {feature: i for i, feature in enumerate(sorted(seen))}
        with self._model_storage.write_to(self._resource) as path:
            (path / VOCABULARY_FILE).write_text(json.dumps(self.vocabulary, ensure_ascii=False), encoding="utf-8")
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._featurize(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def _featurize(self, message: Message) -> None:
        tokens = message.get(TOKENS_NAMES[TEXT])
        if not tokens or not self.vocabulary:
            return
        first, last = self._edges(message)
        rows, cols = [], []
        for row, features in ((0, first), (len(tokens) - 1, last)):   # each on the token it comes from
            for feature in features:
                if feature in self.vocabulary:
                    rows.append(row)
                    cols.append(self.vocabulary[feature])
        shape = (len(tokens), len(self.vocabulary))
        sequence = scipy.sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
        sentence = scipy.sparse.coo_matrix(sequence.sum(axis=0))
        self.add_features_to_message(sequence=sequence, sentence=sentence, attribute=TEXT, message=message)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "SentenceEdgeFeaturizer":
        try:
            with model_storage.read_from(resource) as path:
                vocabulary = json.loads((path / VOCABULARY_FILE).read_text(encoding="utf-8"))
        except ValueError:   # not trained (no NLU data): featurize nothing
            return cls(config, model_storage, resource, execution_context)
        return cls(config, model_storage, resource, execution_context, vocabulary)
