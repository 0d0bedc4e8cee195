package io.fluostream.imaging.flow;

import io.fluostream.imaging.Image;
import java.util.Arrays;

/**
 * A dense forward flow field between two frames: at pixel {@code p = (x, y)} of the earlier frame
 * the content moves to {@code p + (u, v)} in the later one, in pixels per frame (x = column,
 * y = row), as the project's flow convention says.
 *
 * <p>Backed by one {@code 2 × height × width} {@link Image}: channel 0 is u, channel 1 is v. That is
 * the layout the flow stage publishes as its auxiliary planes.
 *
 * <p>Derived quantities use central differences (one-sided at the edges), in units of 1/frame:
 * divergence {@code ∂u/∂x + ∂v/∂y} (positive = expansion) and vorticity {@code ∂v/∂x − ∂u/∂y}
 * (positive = counter-clockwise on a y-up plot, i.e. clockwise as displayed with y down; a rigid
 * rotation at ω rad/frame has vorticity 2ω).
 */
public final class FlowField {

    private final Image uv;

    /** Wraps a {@code 2 × H × W} image (not copied): channel 0 = u, channel 1 = v. */
    public FlowField(Image uv) {
        if (uv.channels() != 2) {
            throw new IllegalArgumentException("a flow field needs 2 channels (u, v), got " + uv);
        }
        this.uv = uv;
    }

    /** A zero field of the given shape. */
    public FlowField(int height, int width) {
        this(new Image(2, height, width));
    }

    /** A field copied from two single-channel planes of the same shape. */
    public static FlowField of(Image u, Image v) {
        if (u.channels() != 1 || v.channels() != 1 || u.height() != v.height() || u.width() != v.width()) {
            throw new IllegalArgumentException("u and v must be single-channel planes of one shape, got " + u + " and " + v);
        }
        FlowField f = new FlowField(u.height(), u.width());
        System.arraycopy(u.data(), 0, f.uv.data(), 0, u.planeSize());
        System.arraycopy(v.data(), 0, f.uv.data(), u.planeSize(), v.planeSize());
        return f;
    }

    /** A uniform translation {@code (u, v)} everywhere. */
    public static FlowField uniform(int height, int width, double u, double v) {
        FlowField f = new FlowField(height, width);
        int n = f.uv.planeSize();
        Arrays.fill(f.uv.data(), 0, n, (float) u);
        Arrays.fill(f.uv.data(), n, 2 * n, (float) v);
        return f;
    }

    public int height() {
        return uv.height();
    }

    public int width() {
        return uv.width();
    }

    /** Horizontal flow at row {@code y}, column {@code x}, in pixels per frame. */
    public float u(int y, int x) {
        return uv.get(0, y, x);
    }

    /** Vertical flow at row {@code y}, column {@code x}, in pixels per frame (positive = down). */
    public float v(int y, int x) {
        return uv.get(1, y, x);
    }

    /** The u plane as a new single-channel image. */
    public Image u() {
        return uv.channel(0);
    }

    /** The v plane as a new single-channel image. */
    public Image v() {
        return uv.channel(1);
    }

    /** The backing {@code 2 × H × W} image (no copy): writes change the field. */
    public Image asImage() {
        return uv;
    }

    public boolean sameShape(FlowField other) {
        return height() == other.height() && width() == other.width();
    }

    /** Speed {@code sqrt(u² + v²)} per pixel, in pixels per frame. */
    public Image speed() {
        int n = uv.planeSize();
        float[] d = uv.data();
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) Math.sqrt(d[i] * d[i] + d[n + i] * d[n + i]);
        }
        return new Image(1, height(), width(), out);
    }

    /** Divergence {@code ∂u/∂x + ∂v/∂y} per pixel, in 1/frame. */
    public Image divergence() {
        float[] out = new float[uv.planeSize()];
        derivatives(true, out);
        return new Image(1, height(), width(), out);
    }

    /** Vorticity {@code ∂v/∂x − ∂u/∂y} per pixel, in 1/frame (2ω for a rigid rotation at ω). */
    public Image vorticity() {
        float[] out = new float[uv.planeSize()];
        derivatives(false, out);
        return new Image(1, height(), width(), out);
    }

    /** Mean speed over the mask's pixels, px/frame; 0 for an empty mask. */
    public double meanSpeed(SignalMask mask) {
        return maskedMean(speed().data(), mask);
    }

    /** Mean divergence over the mask's pixels, 1/frame; 0 for an empty mask. */
    public double meanDivergence(SignalMask mask) {
        return maskedMean(divergence().data(), mask);
    }

    /** Mean vorticity over the mask's pixels, 1/frame; 0 for an empty mask. */
    public double meanVorticity(SignalMask mask) {
        return maskedMean(vorticity().data(), mask);
    }

    /** The per-frame summary figures over the mask's pixels. */
    public FlowSummary summarize(SignalMask mask) {
        return new FlowSummary(meanSpeed(mask), meanDivergence(mask), meanVorticity(mask), mask.count());
    }

    /**
     * Mean endpoint error {@code |estimate − truth|} (Euclidean, px) over the mask's pixels; 0 for an
     * empty mask.
     */
    public static double endpointError(FlowField estimate, FlowField truth, SignalMask mask) {
        if (!estimate.sameShape(truth)) {
            throw new IllegalArgumentException("flow shapes differ: " + estimate + " vs " + truth);
        }
        estimate.requireMaskShape(mask);
        int n = estimate.uv.planeSize();
        float[] a = estimate.uv.data();
        float[] b = truth.uv.data();
        double sum = 0;
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (mask.contains(i)) {
                double du = a[i] - b[i];
                double dv = a[n + i] - b[n + i];
                sum += Math.sqrt(du * du + dv * dv);
                count++;
            }
        }
        return count == 0 ? 0 : sum / count;
    }

    private double maskedMean(float[] values, SignalMask mask) {
        requireMaskShape(mask);
        double sum = 0;
        int count = 0;
        for (int i = 0; i < values.length; i++) {
            if (mask.contains(i)) {
                sum += values[i];
                count++;
            }
        }
        return count == 0 ? 0 : sum / count;
    }

    private void requireMaskShape(SignalMask mask) {
        if (mask.height() != height() || mask.width() != width()) {
            throw new IllegalArgumentException("mask " + mask.height() + "x" + mask.width()
                    + " does not match flow " + height() + "x" + width());
        }
    }

    /** Writes divergence ({@code divergence = true}) or vorticity into {@code out}. */
    private void derivatives(boolean divergence, float[] out) {
        int h = height();
        int w = width();
        int n = h * w;
        float[] d = uv.data();
        for (int y = 0; y < h; y++) {
            int ym = Math.max(y - 1, 0);
            int yp = Math.min(y + 1, h - 1);
            float dyScale = yp == ym ? 0f : 1f / (yp - ym);
            for (int x = 0; x < w; x++) {
                int xm = Math.max(x - 1, 0);
                int xp = Math.min(x + 1, w - 1);
                float dxScale = xp == xm ? 0f : 1f / (xp - xm);
                int i = y * w + x;
                if (divergence) {
                    float dudx = (d[y * w + xp] - d[y * w + xm]) * dxScale;
                    float dvdy = (d[n + yp * w + x] - d[n + ym * w + x]) * dyScale;
                    out[i] = dudx + dvdy;
                } else {
                    float dvdx = (d[n + y * w + xp] - d[n + y * w + xm]) * dxScale;
                    float dudy = (d[yp * w + x] - d[ym * w + x]) * dyScale;
                    out[i] = dvdx - dudy;
                }
            }
        }
    }

    @Override
    public String toString() {
        return "FlowField[" + height() + "x" + width() + "]";
    }
}
