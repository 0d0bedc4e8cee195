package io.fluostream.learning.device;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Index maps along one image axis (shift with mirrored or replicated edges, and the like), built
 * once per axis length and kept on the device, and the gathers that apply them: the tensor form of
 * the pure-Java kernels' edge handling.
 */
final class AxisMaps {

    private final DeviceWorkspace workspace;
    private final Map<String, NDArray> cache = new HashMap<>();

    AxisMaps(DeviceWorkspace workspace) {
        this.workspace = workspace;
    }

    /** {@code i ↦ mirror(i + d)}: half-sample symmetric (the wavelet's edges: ... b a | a b ...). */
    NDArray halfSampleShift(int length, int d) {
        return cached("half:" + length + ":" + d, () -> {
            long[] idx = new long[length];
            int period = 2 * length;
            for (int i = 0; i < length; i++) {
                int m = Math.floorMod(i + d, period);
                idx[i] = m < length ? m : period - 1 - m;
            }
            return idx;
        });
    }

    /** {@code i ↦ clamp(i + d, 0, length − 1)}: replicated edges. */
    NDArray clampedShift(int length, int d) {
        return cached("clamp:" + length + ":" + d, () -> {
            long[] idx = new long[length];
            for (int i = 0; i < length; i++) {
                idx[i] = Math.max(0, Math.min(length - 1, i + d));
            }
            return idx;
        });
    }

    /** {@code i ↦ clamp(i − pad, 0, length − 1)} for i in [0, length + 2·pad): replicate-padding. */
    NDArray replicatePad(int length, int pad) {
        return cached("pad:" + length + ":" + pad, () -> {
            long[] idx = new long[length + 2 * pad];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = Math.max(0, Math.min(length - 1, i - pad));
            }
            return idx;
        });
    }

    /** Any map, by name: {@code values} is called only the first time. */
    NDArray cached(String key, Supplier<long[]> values) {
        NDArray a = cache.get(key);
        if (a == null) {
            a = workspace.keep(workspace.manager().create(values.get()));
            cache.put(key, a);
        }
        return a;
    }

    /** A float vector by name, kept on the device. */
    NDArray cachedFloats(String key, Supplier<float[]> values) {
        NDArray a = cache.get(key);
        if (a == null) {
            a = workspace.keep(workspace.manager().create(values.get()));
            cache.put(key, a);
        }
        return a;
    }

    /** Rows of a {@code (…, H, W)} array picked by {@code map}: out[…, y, :] = in[…, map[y], :]. */
    static NDArray rows(NDArray in, NDArray map) {
        return in.get(new NDIndex("..., {}, :", map));
    }

    /** Columns of a {@code (…, H, W)} array picked by {@code map}: out[…, :, x] = in[…, :, map[x]]. */
    static NDArray columns(NDArray in, NDArray map) {
        return in.get(new NDIndex("..., {}", map));
    }
}
