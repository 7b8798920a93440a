"""Model cards generated from lineage plus the sections people write.

``facts.py`` gathers what the registry and the tracking store know about a version;
``sections.py`` reads the written sections (a markdown cell tagged ``model-card`` in the
training notebook, or ``register_model(..., card={...})``); ``render.py`` writes the card
in the Hugging Face layout (YAML front matter + Markdown) and as HTML; ``api.py`` builds
cards and stores them as ``model_card.md`` / ``model_card.html`` in the version's files.
"""
