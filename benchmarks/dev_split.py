"""The dev faces (../shared/faces/dev) split by person into two halves, so that no threshold is checked on the
photos that set it: each threshold's comment names the half that set it, and its benchmark reports the other half.

The john_* folders are 150-px face chips, not selfies: they belong to neither half. Both halves hold a bearded man
(alex_lacamoire / jack_dorsey) and a blonde (jennifer, scarlett / katy_perry).
"""
HALF_A = ("alex_lacamoire", "barack_obama", "jennifer", "scarlett")
HALF_B = ("angelina", "jack_dorsey", "katy_perry")
