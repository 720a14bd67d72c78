"""Publishing to the Hugging Face Hub: the model repository, the Space, and pulling models back.

- ``model_repo``: which files a model repository holds and its model card (no network).
- ``space``: a self-contained Gradio Space folder (no network).
- ``hfclient``: the only module that talks to the Hub (huggingface_hub), with one-line errors.
"""
