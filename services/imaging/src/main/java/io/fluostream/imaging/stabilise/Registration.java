package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.Image;

/**
 * What a {@link Stabiliser} did with one frame.
 *
 * @param measured       the rigid shift measured against the template (px of the frame) and its
 *                       confidence; (0, 0, 1) for a frame that became the template
 * @param lowConfidence  the confidence was below the threshold: the measurement was not used
 * @param correction     what was applied to the frame
 * @param appliedDx      rigid shift applied along x, px (0 when nothing was applied; for a
 *                       piecewise correction, the rigid shift the patches were measured around)
 * @param appliedDy      rigid shift applied along y, px
 * @param field          the displacement field applied (piecewise), else null
 * @param patches        piecewise: patches measured (0 in rigid mode or when none were)
 * @param patchesReplaced piecewise: patches that did not match and took the rigid shift
 * @param corrected      the output: the frame on the template's grid, or the frame itself
 *                       (same instance) when nothing was applied
 * @param templateStarted this frame became the stream's template
 */
public record Registration(
        Shift measured,
        boolean lowConfidence,
        Correction correction,
        double appliedDx,
        double appliedDy,
        DisplacementField field,
        int patches,
        int patchesReplaced,
        Image corrected,
        boolean templateStarted) {

    /** What was applied to a frame. */
    public enum Correction {
        /** Nothing: the frame passed as acquired (template frame, or low confidence with policy pass). */
        NONE,
        /** The shift (or field) measured on this frame. */
        MEASURED,
        /** The stream's last trusted shift (or field): low confidence with policy hold. */
        HELD
    }

    /** Whether the output is on the template's grid (a correction was applied or the frame is the template). */
    public boolean registered() {
        return correction != Correction.NONE || templateStarted;
    }
}
