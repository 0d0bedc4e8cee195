package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Speed of drift correction (estimate + resample) on 512×512 frames, 1 and 4 channels, single
 * thread, over a slowly drifting Poisson-noise stream. Prints timings; asserts nothing about them.
 * Both the thread's CPU time (robust on a shared machine) and wall time are reported. Run with
 * {@code mvn -q -B -o -pl services/imaging test -Dtest=StabiliseBenchmark -Dbenchmark=true}.
 */
class StabiliseBenchmark {

    @Test
    @EnabledIfSystemProperty(named = "benchmark", matches = "true")
    void driftCorrectionOf512x512Frames() {
        main(new String[0]);
    }

    public static void main(String[] args) {
        int size = args.length > 0 ? Integer.parseInt(args[0]) : 512;
        for (int channels : new int[] {1, 4}) {
            run(size, size, channels);
        }
    }

    private static void run(int h, int w, int channels) {
        Scenes.Blob[] blobs = Scenes.blobs(1, h, w, 64, 0.02);
        Image[] planes = new Image[channels];
        for (int c = 0; c < channels; c++) {
            planes[c] = Scenes.render(blobs, h, w, 0, 0, 100.0 / channels, 10);
        }
        Image referenceImage = Images.stack(planes);
        // A slowly drifting stream: sub-pixel steps, crossing whole pixels now and then.
        int frames = 16;
        Image[] stream = new Image[frames];
        SplittableRandom rng = new SplittableRandom(3);
        double dx = 0;
        double dy = 0;
        for (int f = 0; f < frames; f++) {
            dx += rng.nextDouble(-0.6, 0.6);
            dy += rng.nextDouble(-0.6, 0.6);
            for (int c = 0; c < channels; c++) {
                planes[c] = Scenes.poisson(Scenes.render(blobs, h, w, dx, dy, 100.0 / channels, 10), 10L * f + c);
            }
            stream[f] = Images.stack(planes);
        }
        PhaseCorrelator correlator = new PhaseCorrelator(h, w);
        ShiftResampler resampler = new ShiftResampler();
        ReferenceSpectrum reference = correlator.prepare(referenceImage);
        Image out = new Image(channels, h, w);

        int warmup = 40;
        int measured = 40;
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        long estimateCpu = 0;
        long resampleCpu = 0;
        long wall = 0;
        for (int i = 0; i < warmup + measured; i++) {
            Image frame = stream[i % frames];
            long w0 = System.nanoTime();
            long t0 = cpu.getCurrentThreadCpuTime();
            Shift s = correlator.estimate(reference, frame);
            long t1 = cpu.getCurrentThreadCpuTime();
            resampler.resample(frame, s.dx(), s.dy(), out);
            long t2 = cpu.getCurrentThreadCpuTime();
            long w1 = System.nanoTime();
            if (i >= warmup) {
                estimateCpu += t1 - t0;
                resampleCpu += t2 - t1;
                wall += w1 - w0;
            }
        }
        double estimateMs = estimateCpu / 1e6 / measured;
        double resampleMs = resampleCpu / 1e6 / measured;
        double totalMs = estimateMs + resampleMs;
        double wallMs = wall / 1e6 / measured;
        double megapixels = (double) h * w / 1e6;
        System.out.printf("%dx%d, %d channel(s): CPU estimate %.2f ms + resample %.2f ms = %.2f ms/frame"
                + " = %.1f MP/s (frame pixels), %.1f MP/s (samples of all channels); wall %.2f ms/frame%n",
                h, w, channels, estimateMs, resampleMs, totalMs,
                megapixels / (totalMs / 1e3), megapixels * channels / (totalMs / 1e3), wallMs);
    }
}
