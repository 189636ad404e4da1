"""The support assistant's answer prompts (packaged data), one per language."""
