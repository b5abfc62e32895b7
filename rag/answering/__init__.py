"""Answering: from retrieved passages to verbatim quotes, a short answer, or an abstention.

- ``answerer``      ``Answerer``: weigh the evidence for a question, then answer or abstain
- ``quotes``        score the candidate sentences and pick the quotes
- ``citations``     cite the quotes and check every citation before it leaves
- ``short_answer``  the span inside the best quote that answers the question
- ``confidence``    the evidence features the abstention model reads
- ``followup``      resolve a follow-up question against the conversation
- ``config``        the fitted sentence weights and abstention model (``rag/data/answering.json``)
"""

from rag.answering.answerer import Answerer, Evidence, check_question
from rag.answering.config import AnsweringConfig, load_config

__all__ = ["Answerer", "AnsweringConfig", "Evidence", "check_question", "load_config"]
