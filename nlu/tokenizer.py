"""Vietnamese tokenizer for Rasa: syllables with their offsets, document numbers kept whole.

Each token's ``lemma`` is its normalised form (``nlu.normalize.lemma``): featurizers built on
lemmas see "chủ trì", "chu tri" and "Chủ Trì" alike. Word segmentation (multi-syllable words) is
added as features by ``nlu.words.VietnameseWordFeaturizer``, which needs accented and folded text
to agree on token boundaries: syllables are the unit both share.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from nlu.normalize import lemma

# A document number ("704/UBND-KGVX", "15/2024/QĐ-UBND", "23/6/2022") is one token; then words;
# then any other non-space symbol on its own (emoji such as 👍 carry meaning here).
_TOKEN_RE = re.compile(r"\d+(?:\s?/\s?[\wĐđ&]+(?:-[\wĐđ&]+)*)+|\w+|[^\w\s.,;:!?()\"'“”…-]")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class VietnameseTokenizer(Tokenizer):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent_tokenization_flag": False, "intent_split_symbol": "_",
                "token_pattern": None, "prefix_separator_symbol": None}

    @staticmethod
    def supported_languages() -> Optional[List[Text]]:
        return ["vi"]

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "VietnameseTokenizer":
        return cls(config)

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute) or ""
        matches = list(_TOKEN_RE.finditer(text))
        tokens = []
        for i, match in enumerate(matches):
            following = matches[i + 1].group() if i + 1 < len(matches) else ""
            tokens.append(Token(match.group(), match.start(), match.end(), lemma=lemma(match.group(), following)))
        if not tokens:   # only punctuation ("?"): one token, as Rasa's tokenizers do
            tokens = [Token(text, 0, len(text), lemma=text)]
        return self._apply_token_pattern(tokens)
