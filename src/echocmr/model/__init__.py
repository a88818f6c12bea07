"""Modelling: clip sampling over the video store, video CNNs, training, prediction, view fusion
and the clinical (LVEF + age + sex) baseline. See docs/model.md."""
