"""The reference training pipeline that ``dvc.yaml`` runs: prepare -> train -> evaluate.

Each stage is a script (``python stages/train.py``) reading its hyperparameters from params.yaml
through ``exptrack.load_params``; the modules beside them hold one piece each (data, models,
losses, schedules, checkpoints, the epoch loop).
"""
