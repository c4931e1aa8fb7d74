"""Optional written answers: a language model restates the retrieved passages in plain words.

`chat.py` is the OpenAI-compatible client, `grounding.py` the checks a reply
must pass, `writer.py` the prompt and the fallback to the extractive answer.
"""

from bot.compose.writer import Writer

__all__ = ["Writer"]
