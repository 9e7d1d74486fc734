"""Label sets of the two heads; the order is the id order of the shipped model."""

from __future__ import annotations

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

# The 20 classes of twitter-financial-news-topic, in the dataset's class-id order.
TOPICS: tuple[str, ...] = (
    "analyst_update",
    "fed_central_banks",
    "company_product_news",
    "treasuries_corporate_debt",
    "dividend",
    "earnings",
    "energy_oil",
    "financials",
    "currencies",
    "general_news_opinion",
    "gold_metals_materials",
    "ipo",
    "legal_regulation",
    "m_and_a_investments",
    "macro",
    "markets",
    "politics",
    "personnel_change",
    "stock_commentary",
    "stock_movement",
)

TASKS: dict[str, tuple[str, ...]] = {"sentiment": SENTIMENTS, "topic": TOPICS}
