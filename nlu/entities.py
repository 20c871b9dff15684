"""Rasa entity extractor over ``nlu.vocabulary``: agency, doc_number, date, topic."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.normalize import nfc_with_offsets
from nlu.vocabulary import TOPICS_FILE, TopicLexicon, find_entities
from retrieval.tasks.agencies import Gazetteer


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class VietnameseEntityExtractor(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # gazetteer: None → the gazetteer shipped with retrieval/tasks; topics: None → nlu/data/topics.yml
        return {"gazetteer": None, "topics": None}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = config
        self.gazetteer = Gazetteer.load(config.get("gazetteer"))
        self.topics = TopicLexicon.load(Path(config["topics"]) if config.get("topics") else TOPICS_FILE)

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "VietnameseEntityExtractor":
        return cls(config)

    @staticmethod
    def supported_languages() -> Optional[List[Text]]:
        return ["vi"]

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            original = message.get(TEXT) or ""
            text, offsets = nfc_with_offsets(original)
            entities = [{
                "entity": span.entity,
                "start": offsets[span.start],
                "end": offsets[span.end],
                "value": text[span.start:span.end],
                "confidence_entity": 1.0,
            } for span in find_entities(text, self.gazetteer, self.topics)]
            entities = self.add_extractor_name(entities)
            message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages
