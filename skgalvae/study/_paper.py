"""The numbers Xu et al. (2023, MNRAS 526, 6391) report, for the report's side by side.

Accuracies are fractions (the paper prints percentages). The paper's data are
314,000 GZD-5 galaxies at 3x256x256 (Table 3) and 3,434 galaxies imaged by
DECaLS and BASS+MzLS (Table 4); a run here compares its own numbers on its own
data with these, so differences mean "different data and size" as much as
"different model".
"""

#: Sec. 4.1: SSIM rises with n_latent and flattens near this value.
KNEE = 40

#: Sec. 4.1: the range of the per-class mean SSIM at the knee.
CLASS_SSIM_RANGE = (0.80, 0.90)

#: Table 3: random-forest test accuracy on the 40 latents, per question.
CLASSIFICATION_ACCURACY = {
    "how_rounded": 0.9068,
    "edge_on": 0.8425,
    "bulge_shape": 0.8408,
    "bar": 0.7621,
    "has_arms": 0.9191,
    "arm_tightness": 0.7584,
    "arm_count": 0.8632,
    "bulge_size": 0.8260,
    "merger": 0.9636,
}

#: Table 4: accuracy (RF retrained 70/30) before DA on DECaLS, before DA on
#: BASS+MzLS and after DA on BASS+MzLS, per question.
ADAPTATION_ACCURACY = {
    "how_rounded": (0.7647, 0.7059, 0.7941),
    "edge_on": (0.8753, 0.8672, 0.8943),
    "bar": (0.8253, 0.7059, 0.8627),
    "has_arms": (0.8290, 0.7668, 0.8238),
    "arm_tightness": (0.6528, 0.5694, 0.6389),
    "bulge_size": (0.7358, 0.6604, 0.7736),
    "merger": (0.9736, 0.9765, 0.9853),
}

#: Sec. 5, Fig. 6: per-galaxy latent MSE between the two surveys before DA.
LATENT_MSE_BEFORE_RANGE = (0.05, 10.0)

#: Sec. 6: galaxies beyond 8 sigma in some latent, of the 314k.
OUTLIERS = {
    "n_sigma": 8,
    "n_outliers": 1308,
    "n_galaxies": 314_000,
    "fraction": 0.00417,
}
