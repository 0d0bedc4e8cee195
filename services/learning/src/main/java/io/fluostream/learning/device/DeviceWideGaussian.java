package io.fluostream.learning.device;

import ai.djl.ndarray.NDArray;
import io.fluostream.imaging.flow.WideGaussian;
import java.util.HashMap;
import java.util.Map;

/**
 * A Gaussian blur whose cost does not grow with σ, on the device: for a wide σ the planes are
 * reduced by factors of 2 (σ = 1.25 anti-alias blur, every second sample), blurred on the coarse
 * grid and interpolated back bilinearly; a narrow σ is blurred directly. The same plan (number of
 * halvings, coarse σ) as the pure-Java flow's {@code WideGaussian}, so the two agree to rounding.
 */
final class DeviceWideGaussian {


    private final double sigma;
    private final DeviceWorkspace workspace;
    private final AxisMaps maps;
    private final DeviceGaussian reduce;
    /** Per plane shape: halvings and the coarse blur. */
    private final Map<Long, Plan> plans = new HashMap<>();

    private record Plan(int halvings, DeviceGaussian coarse, int[] heights, int[] widths) {
    }

    DeviceWideGaussian(double sigma, DeviceWorkspace workspace, AxisMaps maps) {
        if (!(sigma > 0) || !Double.isFinite(sigma)) {
            throw new IllegalArgumentException("Gaussian sigma must be positive and finite, got " + sigma);
        }
        this.sigma = sigma;
        this.workspace = workspace;
        this.maps = maps;
        this.reduce = new DeviceGaussian(WideGaussian.REDUCE_SIGMA, workspace, maps);
    }

    /** Blurs {@code planes} ({@code B × H × W}) into a new array of the same shape. */
    NDArray apply(NDArray planes) {
        int h = (int) planes.getShape().get(1);
        int w = (int) planes.getShape().get(2);
        Plan plan = plans.computeIfAbsent(((long) h << 32) | w, k -> plan(h, w));
        NDArray x = planes;
        for (int k = 1; k <= plan.halvings; k++) {
            x = reduce.apply(x).get(":, ::2, ::2");
        }
        x = plan.coarse.apply(x);
        for (int k = plan.halvings - 1; k >= 0; k--) {
            x = upsample(x, plan.heights[k], plan.widths[k], maps);
        }
        return x;
    }

    /** The pure-Java kernel's plan ({@link WideGaussian#plan}), with its coarse blur on the device. */
    private Plan plan(int h, int w) {
        WideGaussian.Plan p = WideGaussian.plan(h, w, sigma);
        return new Plan(p.halvings(), new DeviceGaussian(p.coarseSigma(), workspace, maps), p.heights(), p.widths());
    }

    /**
     * Bilinear interpolation of {@code B × ch × cw} planes onto the grid twice as dense
     * ({@code fh × fw}): fine pixel 2c on coarse pixel c, 2c + 1 halfway to c + 1 (the last coarse
     * pixel repeated at the edge), as the pure-Java {@code WideGaussian.upsample}.
     */
    static NDArray upsample(NDArray coarse, int fh, int fw, AxisMaps maps) {
        int ch = (int) coarse.getShape().get(1);
        int cw = (int) coarse.getShape().get(2);
        NDArray left = maps.cached("up-a:" + fw + ":" + cw, () -> upsampleMap(fw, cw, false));
        NDArray right = maps.cached("up-b:" + fw + ":" + cw, () -> upsampleMap(fw, cw, true));
        NDArray widened = AxisMaps.columns(coarse, left).add(AxisMaps.columns(coarse, right)).mul(0.5f);
        NDArray above = maps.cached("up-a:" + fh + ":" + ch, () -> upsampleMap(fh, ch, false));
        NDArray below = maps.cached("up-b:" + fh + ":" + ch, () -> upsampleMap(fh, ch, true));
        return AxisMaps.rows(widened, above).add(AxisMaps.rows(widened, below)).mul(0.5f);
    }

    private static long[] upsampleMap(int fine, int coarse, boolean next) {
        long[] m = new long[fine];
        for (int i = 0; i < fine; i++) {
            m[i] = Math.min((i >> 1) + (next ? (i & 1) : 0), coarse - 1);
        }
        return m;
    }
}
