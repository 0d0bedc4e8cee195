package io.fluostream.imaging.flow;

import io.fluostream.imaging.Image;

/**
 * Backward warping by a flow field with bilinear interpolation: {@code out(p) = src(p + flow(p))}.
 *
 * <p>With the forward flow from frame A to frame B, warping B gives B's content on A's grid
 * ({@code warp(B)(p) = B(p + flow(p)) ≈ A(p)}), which is how the flow estimator compares frames and
 * how a caller checks a flow. Samples that fall outside the image take the nearest edge value.
 */
public final class Warp {

    private Warp() {
    }

    /** Warps every channel of {@code src} by {@code flow} into a new image. */
    public static Image bilinear(Image src, FlowField flow) {
        Image out = new Image(src.channels(), src.height(), src.width());
        bilinear(src, flow, out);
        return out;
    }

    /** Warps every channel of {@code src} by {@code flow} into {@code out} (same shape as src). */
    public static void bilinear(Image src, FlowField flow, Image out) {
        if (src.height() != flow.height() || src.width() != flow.width()) {
            throw new IllegalArgumentException("flow " + flow + " does not match image " + src);
        }
        if (!out.sameShape(src) || out == src) {
            throw new IllegalArgumentException("warp output must be a distinct image shaped like " + src + ", got " + out);
        }
        int h = src.height();
        int w = src.width();
        int n = h * w;
        float[] f = flow.asImage().data();
        float[] s = src.data();
        float[] o = out.data();
        for (int c = 0; c < src.channels(); c++) {
            int off = c * n;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int i = y * w + x;
                    o[off + i] = sample(s, off, h, w, x + f[i], y + f[n + i]);
                }
            }
        }
    }

    /**
     * Bilinear sample of the {@code height × width} plane starting at {@code offset} in
     * {@code plane}, at column {@code x} and row {@code y}; coordinates are clamped to the image.
     */
    public static float sample(float[] plane, int offset, int height, int width, double x, double y) {
        double cx = Math.min(Math.max(x, 0), width - 1);
        double cy = Math.min(Math.max(y, 0), height - 1);
        int x0 = Math.min((int) cx, Math.max(width - 2, 0));
        int y0 = Math.min((int) cy, Math.max(height - 2, 0));
        int x1 = Math.min(x0 + 1, width - 1);
        int y1 = Math.min(y0 + 1, height - 1);
        float fx = (float) (cx - x0);
        float fy = (float) (cy - y0);
        float top = plane[offset + y0 * width + x0] * (1 - fx) + plane[offset + y0 * width + x1] * fx;
        float bottom = plane[offset + y1 * width + x0] * (1 - fx) + plane[offset + y1 * width + x1] * fx;
        return top * (1 - fy) + bottom * fy;
    }
}
