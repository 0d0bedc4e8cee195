package io.fluostream.imaging.sim;

import io.fluostream.imaging.Image;

/**
 * One simulated acquisition with its ground truth (see {@link ForwardModel} for the model).
 *
 * @param t             frame index in the stream, from 0
 * @param raw           C×H×W camera frame: integer ADU, offset included, clipped to [0, 65535]
 * @param cleanChannels C×H×W expected offset-free ADU, what a perfect denoiser outputs:
 *                      gain·photonLevel·(M·a) plus the background
 * @param abundances    F×H×W fluorophore abundances in the same ADU scale,
 *                      gain·photonLevel·(a + backgroundAbundance), so that
 *                      {@code cleanChannels = M · abundances} exactly (up to float rounding)
 * @param driftX        global drift d_x(t), px: content at drift-free p appears at p + d
 * @param driftY        global drift d_y(t), px
 * @param flow          2×H×W truth forward flow from frame t−1 to t on the grid of frame t−1, in
 *                      drift-free (stabilised) coordinates, px/frame: plane 0 is u (x, columns),
 *                      plane 1 is v (y, rows); all zero at t = 0
 */
public record SimulatedFrame(int t, Image raw, Image cleanChannels, Image abundances, double driftX,
                             double driftY, Image flow) {

    public SimulatedFrame {
        if (!raw.sameShape(cleanChannels)) {
            throw new IllegalArgumentException("raw " + raw + " and clean " + cleanChannels + " differ in shape");
        }
        if (abundances.height() != raw.height() || abundances.width() != raw.width()
                || flow.height() != raw.height() || flow.width() != raw.width() || flow.channels() != 2) {
            throw new IllegalArgumentException("abundances " + abundances + " and flow " + flow
                    + " must match the frame's " + raw.height() + "x" + raw.width() + " (flow with 2 planes)");
        }
    }
}
