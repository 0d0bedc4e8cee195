/**
 * Learned spectral unmixing for low light: a small CNN ({@link io.fluostream.learning.unmix.UnmixNetwork})
 * that corrects exact NNLS abundances from each pixel's neighbourhood, trained on forward-model
 * mixtures for one set of spectra ({@link io.fluostream.learning.unmix.UnmixTrainer}), applied by
 * {@link io.fluostream.learning.unmix.LearnedUnmixer}, described by
 * {@link io.fluostream.learning.unmix.UnmixModelCard}. The model shipped in this module's resources
 * was trained for the rig simulator's default 4 × 3 spectra.
 */
package io.fluostream.learning.unmix;
