package io.fluostream.imaging.stabilise;

import java.util.Locale;

/**
 * How a {@link Stabiliser} registers frames. Immutable and validated; start from {@link #DEFAULT}
 * and change fields with the {@code withX} methods.
 *
 * @param mode                  {@link Mode#RIGID} (one shift per frame) or {@link Mode#PIECEWISE}
 *                              (a shift per patch, upsampled to a smooth displacement field)
 * @param template              how each stream's template evolves ({@link TemplatePolicy})
 * @param templateFrames        running mean: the template is the mean of the last ~N trusted,
 *                              registered frames (a plain mean of the first N, then an
 *                              exponential one with weight 1/N), N ≥ 1
 * @param templateRefreshFrames running mean: the registration uses (and the stage persists) the
 *                              updated template every this many folded frames, ≥ 1 (each refresh
 *                              costs one transform of the template)
 * @param minConfidence         a frame whose rigid registration confidence is below this is
 *                              flagged low-confidence and handled by {@code lowConfidence}, [0, 1]
 * @param lowConfidence         what a low-confidence frame gets ({@link LowConfidencePolicy})
 * @param registrationChannel   channel registered on, or −1 for the sum of all channels
 * @param binning               estimate on a bin × bin binned copy (1–8), or 0 for automatic
 *                              ({@link RegistrationPlane#binning}); the correction itself is always
 *                              applied at full resolution
 * @param patchPx               piecewise: patch side, px of the frame (≥ 16)
 * @param patchOverlapPx        piecewise: least overlap of neighbouring patches, px, in
 *                              [0, patchPx/2]
 * @param maxPatchDeviationPx   piecewise: a patch shift farther than this from the rigid shift is
 *                              not trusted (the patch takes the rigid shift), px, &gt; 0
 * @param minPatchMatch         piecewise: a patch whose normalised correlation with its template
 *                              patch is below this takes the rigid shift, [0, 1]
 */
public record StabiliseSettings(
        Mode mode,
        TemplatePolicy template,
        int templateFrames,
        int templateRefreshFrames,
        double minConfidence,
        LowConfidencePolicy lowConfidence,
        int registrationChannel,
        int binning,
        int patchPx,
        int patchOverlapPx,
        double maxPatchDeviationPx,
        double minPatchMatch) {

    /** Rigid or piecewise-rigid registration. */
    public enum Mode {
        /** One sub-pixel shift per frame. */
        RIGID,
        /** A rigid shift, then a sub-pixel shift per patch, upsampled to a smooth field (NoRMCorre). */
        PIECEWISE;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Where a stream's template comes from and how it evolves. */
    public enum TemplatePolicy {
        /** The stream's first frame, kept. */
        FIRST,
        /** Starts as the first frame; every trusted frame, once registered, is folded into a running mean. */
        RUNNING_MEAN,
        /**
         * A reference image the user installs ({@link StreamTemplate#install}); until one arrives,
         * the first frame. Never updated by frames.
         */
        REFERENCE;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** What a frame below the confidence threshold gets (it is flagged either way). */
    public enum LowConfidencePolicy {
        /** Passed on unregistered (as acquired). */
        PASS,
        /** Corrected with the stream's last trusted shift (or field); unregistered if there is none yet. */
        HOLD;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Rigid, running-mean template of ~32 frames refreshed every 8, threshold 0.2 (matching frames
     * score 0.4–0.97 on the simulator at 5–20 photons, blank or unrelated frames below 0.2), pass
     * low-confidence frames unregistered, channel sum, automatic binning; piecewise: 128 px patches
     * overlapping by ≥ 32 px, trusted within 6 px of the rigid shift and at a match ≥ 0.2.
     */
    public static final StabiliseSettings DEFAULT = new StabiliseSettings(Mode.RIGID, TemplatePolicy.RUNNING_MEAN,
            32, 8, 0.2, LowConfidencePolicy.PASS, -1, 0, 128, 32, 6, 0.2);

    public StabiliseSettings {
        if (mode == null || template == null || lowConfidence == null) {
            throw new IllegalArgumentException("mode, template and lowConfidence policies are required");
        }
        if (templateFrames < 1 || templateRefreshFrames < 1) {
            throw new IllegalArgumentException("templateFrames and templateRefreshFrames must be >= 1, got "
                    + templateFrames + ", " + templateRefreshFrames);
        }
        if (!(minConfidence >= 0 && minConfidence <= 1)) {
            throw new IllegalArgumentException("minConfidence must be in [0, 1], got " + minConfidence);
        }
        if (registrationChannel < -1) {
            throw new IllegalArgumentException("registrationChannel must be -1 (sum) or a channel index, got "
                    + registrationChannel);
        }
        if (binning < 0 || binning > 8) {
            throw new IllegalArgumentException("binning must be 0 (auto) or 1..8, got " + binning);
        }
        if (patchPx < 16) {
            throw new IllegalArgumentException("patchPx must be >= 16 px, got " + patchPx);
        }
        if (patchOverlapPx < 0 || patchOverlapPx > patchPx / 2) {
            throw new IllegalArgumentException("patchOverlapPx must be in [0, patchPx/2 = " + patchPx / 2 + "], got "
                    + patchOverlapPx);
        }
        if (!(maxPatchDeviationPx > 0) || Double.isInfinite(maxPatchDeviationPx)) {
            throw new IllegalArgumentException("maxPatchDeviationPx must be a finite number > 0, got "
                    + maxPatchDeviationPx);
        }
        if (!(minPatchMatch >= 0 && minPatchMatch <= 1)) {
            throw new IllegalArgumentException("minPatchMatch must be in [0, 1], got " + minPatchMatch);
        }
    }

    public StabiliseSettings withMode(Mode mode) {
        return new StabiliseSettings(mode, template, templateFrames, templateRefreshFrames, minConfidence,
                lowConfidence, registrationChannel, binning, patchPx, patchOverlapPx, maxPatchDeviationPx, minPatchMatch);
    }

    public StabiliseSettings withTemplate(TemplatePolicy template) {
        return new StabiliseSettings(mode, template, templateFrames, templateRefreshFrames, minConfidence,
                lowConfidence, registrationChannel, binning, patchPx, patchOverlapPx, maxPatchDeviationPx, minPatchMatch);
    }

    public StabiliseSettings withTemplateFrames(int templateFrames, int templateRefreshFrames) {
        return new StabiliseSettings(mode, template, templateFrames, templateRefreshFrames, minConfidence,
                lowConfidence, registrationChannel, binning, patchPx, patchOverlapPx, maxPatchDeviationPx, minPatchMatch);
    }

    public StabiliseSettings withMinConfidence(double minConfidence) {
        return new StabiliseSettings(mode, template, templateFrames, templateRefreshFrames, minConfidence,
                lowConfidence, registrationChannel, binning, patchPx, patchOverlapPx, maxPatchDeviationPx, minPatchMatch);
    }

    public StabiliseSettings withLowConfidence(LowConfidencePolicy lowConfidence) {
        return new StabiliseSettings(mode, template, templateFrames, templateRefreshFrames, minConfidence,
                lowConfidence, registrationChannel, binning, patchPx, patchOverlapPx, maxPatchDeviationPx, minPatchMatch);
    }

    public StabiliseSettings withRegistrationChannel(int registrationChannel) {
        return new StabiliseSettings(mode, template, templateFrames, templateRefreshFrames, minConfidence,
                lowConfidence, registrationChannel, binning, patchPx, patchOverlapPx, maxPatchDeviationPx, minPatchMatch);
    }

    public StabiliseSettings withBinning(int binning) {
        return new StabiliseSettings(mode, template, templateFrames, templateRefreshFrames, minConfidence,
                lowConfidence, registrationChannel, binning, patchPx, patchOverlapPx, maxPatchDeviationPx, minPatchMatch);
    }

    public StabiliseSettings withPatches(int patchPx, int patchOverlapPx, double maxPatchDeviationPx, double minPatchMatch) {
        return new StabiliseSettings(mode, template, templateFrames, templateRefreshFrames, minConfidence,
                lowConfidence, registrationChannel, binning, patchPx, patchOverlapPx, maxPatchDeviationPx, minPatchMatch);
    }
}
