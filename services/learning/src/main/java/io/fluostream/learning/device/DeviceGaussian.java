package io.fluostream.learning.device;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;

/**
 * Gaussian blur of a batch of planes on the device, as two 1-D convolutions (down the columns,
 * then along the rows) with replicated edges; the kernel is truncated at 3σ and renormalised, as
 * the pure-Java flow's {@code SeparableGaussian}, so a constant plane stays constant.
 */
final class DeviceGaussian {

    private final double sigma;
    private final int radius;
    private final NDArray vertical;   // (1, 1, 2r+1, 1)
    private final NDArray horizontal; // (1, 1, 1, 2r+1)
    private final AxisMaps maps;

    DeviceGaussian(double sigma, DeviceWorkspace workspace, AxisMaps maps) {
        if (!(sigma > 0) || !Double.isFinite(sigma)) {
            throw new IllegalArgumentException("Gaussian sigma must be positive and finite, got " + sigma);
        }
        this.sigma = sigma;
        this.radius = Math.max(1, (int) Math.ceil(3 * sigma));
        this.maps = maps;
        double[] k = new double[2 * radius + 1];
        double sum = 0;
        for (int j = -radius; j <= radius; j++) {
            k[j + radius] = Math.exp(-0.5 * j * j / (sigma * sigma));
            sum += k[j + radius];
        }
        float[] taps = new float[k.length];
        for (int i = 0; i < k.length; i++) {
            taps[i] = (float) (k[i] / sum);
        }
        this.vertical = workspace.keep(workspace.manager().create(taps, new Shape(1, 1, taps.length, 1)));
        this.horizontal = workspace.keep(workspace.manager().create(taps, new Shape(1, 1, 1, taps.length)));
    }

    double sigma() {
        return sigma;
    }

    /** Blurs {@code planes} ({@code B × H × W}) into a new array of the same shape. */
    NDArray apply(NDArray planes) {
        Shape shape = planes.getShape();
        long batch = shape.get(0);
        int h = (int) shape.get(1);
        int w = (int) shape.get(2);
        NDArray x = AxisMaps.rows(planes, maps.replicatePad(h, radius)).reshape(batch, 1, h + 2L * radius, w);
        x = Conv2d.conv2d(x, vertical).singletonOrThrow();
        x = AxisMaps.columns(x, maps.replicatePad(w, radius));
        x = Conv2d.conv2d(x, horizontal).singletonOrThrow();
        return x.reshape(batch, h, w);
    }
}
