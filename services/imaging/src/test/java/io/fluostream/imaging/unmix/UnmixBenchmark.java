package io.fluostream.imaging.unmix;

import io.fluostream.imaging.Image;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;

/**
 * Throughput of the unmixers in megapixels per second (C=4, F=3, 256×256 by default) on three
 * kinds of frame, which differ in how many pixels take NNLS's exact slow path:
 * <ul>
 *   <li>{@code cells}: sparse Gaussian "cells" per fluorophore on a dark background, Poisson shot
 *       noise plus read noise — realistic, a large share of background pixels go negative;
 *   <li>{@code dark}: background only (read noise around zero) — nearly every pixel is slow;
 *   <li>{@code bright}: every fluorophore everywhere — no pixel is slow.
 * </ul>
 * A plain timing loop (not a test): run it by hand, on an otherwise idle machine; without
 * {@code --add-modules jdk.incubator.vector} it times the scalar path.
 *
 * <pre>
 * mvn -q -B -o -pl services/imaging test-compile
 * java --add-modules jdk.incubator.vector \
 *     -cp services/imaging/target/classes:services/imaging/target/test-classes \
 *     io.fluostream.imaging.unmix.UnmixBenchmark [size] [parallelism] [cells,dark,bright]
 * </pre>
 */
public final class UnmixBenchmark {

    public static void main(String[] args) {
        int size = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        int parallelism = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        ReferenceSpectra m = Mixtures.FOUR_BY_THREE;
        System.out.printf("C=%d F=%d %dx%d parallelism=%d, %s%n", m.channels(), m.fluorophores(), size, size,
                parallelism, System.getProperty("java.vm.name") + " " + Runtime.version());
        String[] kinds = args.length > 2 ? args[2].split(",") : new String[] {"cells", "dark", "bright"};
        for (String kind : kinds) {
            Image x = frame(kind, m, size, new SplittableRandom(1));
            try (LeastSquaresUnmixer ls = new LeastSquaresUnmixer(m, parallelism);
                    NnlsUnmixer nnls = new NnlsUnmixer(m, parallelism)) {
                Image a = new Image(m.fluorophores(), size, size);
                Image r = new Image(1, size, size);
                ls.compute(x, a, r);
                double slow = (double) LeastSquaresUnmixer.pixelsWithANegative(a) / a.planeSize();
                double lsRate = megapixelsPerSecond(ls, x, a, r);
                double nnlsRate = megapixelsPerSecond(nnls, x, a, r);
                System.out.printf("%-7s slow-path pixels %5.1f%%   LS %7.1f MP/s   NNLS %7.1f MP/s%n",
                        kind, 100 * slow, lsRate, nnlsRate);
            }
        }
    }

    /**
     * Median over 15 timed runs of about 0.2 s each, after 1 s of warm-up. Single-threaded runs are
     * timed in thread CPU time, so that other processes on a shared machine do not count;
     * parallel runs in wall-clock time.
     */
    private static double megapixelsPerSecond(SpectralUnmixer u, Image x, Image a, Image r) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        LongSupplier clock = u.parallelism() == 1 ? threads::getCurrentThreadCpuTime : System::nanoTime;
        long warmUntil = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < warmUntil) {
            u.compute(x, a, r);
        }
        double[] rates = new double[15];
        for (int k = 0; k < rates.length; k++) {
            int frames = 0;
            long t0 = clock.getAsLong();
            long t;
            do {
                u.compute(x, a, r);
                frames++;
                t = clock.getAsLong();
            } while (t - t0 < 200_000_000L);
            rates[k] = (double) frames * x.planeSize() / ((t - t0) * 1e-9) / 1e6;
        }
        Arrays.sort(rates);
        return rates[rates.length / 2];
    }

    private static Image frame(String kind, ReferenceSpectra m, int size, SplittableRandom rng) {
        int f = m.fluorophores();
        Image truth = new Image(f, size, size);
        float[] t = truth.data();
        int n = size * size;
        switch (kind) {
            case "cells" -> {
                for (int k = 0; k < f; k++) {
                    for (int blob = 0; blob < 12; blob++) {
                        double cx = rng.nextDouble() * size;
                        double cy = rng.nextDouble() * size;
                        double radius = 6 + rng.nextDouble() * 14;
                        double peak = 50 + rng.nextDouble() * 200;
                        for (int y = 0; y < size; y++) {
                            for (int xx = 0; xx < size; xx++) {
                                double d2 = ((xx - cx) * (xx - cx) + (y - cy) * (y - cy)) / (radius * radius);
                                if (d2 < 9) {
                                    t[k * n + y * size + xx] += (float) (peak * Math.exp(-0.5 * d2));
                                }
                            }
                        }
                    }
                }
            }
            case "bright" -> Arrays.fill(t, 200f);
            case "dark" -> {
                // all zero
            }
            default -> throw new IllegalArgumentException(kind);
        }
        Image x = Mixtures.mix(m, truth);
        float[] d = x.data();
        for (int i = 0; i < d.length; i++) {
            // Shot noise (Gaussian approximation, fine above a few photons) plus read noise of 2 ADU.
            double mean = d[i];
            d[i] = (float) (mean + Math.sqrt(Math.max(mean, 0)) * Mixtures.gaussian(rng) + 2 * Mixtures.gaussian(rng));
        }
        return x;
    }
}
