"""Statistics for the evaluate stage: bootstrap CIs, DeLong's test, Bland-Altman agreement."""
