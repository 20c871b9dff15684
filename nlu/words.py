"""Word features for Vietnamese: multi-syllable words ("chủ trì", "sốt xuất huyết") as units.

Vietnamese writes words as space-separated syllables, so "chủ trì" is two tokens. pyvi segments
accented text well but not text typed without diacritics ("chu tri"). So at training time pyvi
segments the accented examples, and the words it finds are kept folded; at run time the same
folded words are found by longest match on the tokens' lemmas, whatever the user's diacritics.
Each token gets a one-hot feature of the word it belongs to; the sentence gets their sum.
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

from nlu.segment import pyvi_compounds, segment
from retrieval.text import has_diacritics

VOCABULARY_FILE = "words.json"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class VietnameseWordFeaturizer(SparseFeaturizer, GraphComponent):
    @classmethod
    def required_components(cls) -> List[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**SparseFeaturizer.get_default_config(), "min_count": 1}

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if int(config.get("min_count", 1)) < 1:
            raise ValueError("VietnameseWordFeaturizer: min_count must be at least 1")

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 execution_context: ExecutionContext, compounds: Optional[List[str]] = None,
                 vocabulary: Optional[Dict[str, int]] = None) -> None:
        super().__init__(execution_context.node_name, config)
        self._model_storage = model_storage
        self._resource = resource
        self.compounds = set(compounds or [])
        self.vocabulary = vocabulary or {}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "VietnameseWordFeaturizer":
        return cls(config, model_storage, resource, execution_context)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.training_examples if m.get(TEXT)]
        self.compounds = set()
        for message in examples:
            if has_diacritics(message.get(TEXT)):
                self.compounds |= pyvi_compounds(message.get(TEXT))
        counts: Dict[str, int] = {}
        for message in examples:
            for word in self._words(message):
                counts[word] = counts.get(word, 0) + 1
        kept = sorted(w for w, c in counts.items() if c >= int(self._config["min_count"]))
        self.vocabulary = {w: i for i, w in enumerate(kept)}
        self.persist()
        return self._resource

    def _words(self, message: Message) -> List[str]:
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        lemmas = [t.lemma for t in tokens]
        return [" ".join(lemmas[a:b]) for a, b in segment(lemmas, self.compounds) for _ in range(b - a)]

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
        rows, cols = [], []
        for row, word in enumerate(self._words(message)):   # one word per token
            if word in self.vocabulary:
                rows.append(row)
                cols.append(self.vocabulary[word])
        shape = (len(tokens), len(self.vocabulary))
        sequence = scipy.sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
        sentence = scipy.sparse.coo_matrix(sequence.sum(axis=0))
        self.add_features_to_message(sequence=sequence, sentence=sentence, attribute=TEXT, message=message)

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as path:
            (path / VOCABULARY_FILE).write_text(json.dumps(
                {"compounds": sorted(self.compounds), "vocabulary": self.vocabulary}, ensure_ascii=False),
                encoding="utf-8")

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "VietnameseWordFeaturizer":
        try:
            with model_storage.read_from(resource) as path:
                data = json.loads((path / VOCABULARY_FILE).read_text(encoding="utf-8"))
        except ValueError:   # not trained (no NLU data): featurize nothing, as Rasa's own featurizers do
            return cls(config, model_storage, resource, execution_context)
        return cls(config, model_storage, resource, execution_context, data["compounds"], data["vocabulary"])
