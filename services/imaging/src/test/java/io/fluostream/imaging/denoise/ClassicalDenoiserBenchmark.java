package io.fluostream.imaging.denoise;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * Quality and speed of {@link ClassicalDenoiser} on 256×256×4 frames (a plain main, not a test:
 * timings do not belong in assertions). Prints PSNR in/out per photon level, then milliseconds per
 * frame on one thread, wall clock and thread CPU time (CPU time is the steadier figure on a
 * shared machine).
 *
 * <pre>
 * mvn -q -B -o -pl services/imaging test-compile
 * java -cp services/imaging/target/classes:services/imaging/target/test-classes \
 *     io.fluostream.imaging.denoise.ClassicalDenoiserBenchmark
 * </pre>
 */
public final class ClassicalDenoiserBenchmark {

    private ClassicalDenoiserBenchmark() {
    }

    public static void main(String[] args) {
        double gain = 2;
        double readAdu = 4;
        double offset = 100;
        ClassicalDenoiser denoiser = new ClassicalDenoiser();
        System.out.println("256x256x4, gain 2 ADU/e-, read noise 2 e-, offset 100 ADU");
        System.out.println("peak e-   PSNR in   PSNR out    gain   mean out/clean");
        for (double peak : new double[] {2, 5, 20, 100}) {
            Image electrons = SyntheticFrames.cleanScene(4, 256, 256, peak, 100);
            Image clean = SyntheticFrames.toAdu(electrons, gain);
            Image raw = SyntheticFrames.camera(electrons, gain, readAdu, offset, 109);
            Image minus = raw.copy();
            for (int i = 0; i < minus.data().length; i++) {
                minus.data()[i] -= (float) offset;
            }
            Image out = denoiser.denoise(raw, offset).denoised();
            double in = Images.psnr(clean, minus);
            double o = Images.psnr(clean, out);
            System.out.printf("%7.0f  %8.2f  %9.2f  %+6.2f   %.4f%n", peak, in, o, o - in,
                    Images.mean(out) / Images.mean(clean));
        }

        Image raw = SyntheticFrames.camera(SyntheticFrames.cleanScene(4, 256, 256, 20, 100), gain, readAdu, offset, 7);
        Image out = new Image(4, 256, 256);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        for (int i = 0; i < 100; i++) {
            denoiser.denoise(raw, offset, out); // JIT warm-up
        }
        int rounds = 15;
        int perRound = 10;
        double[] wall = new double[rounds];
        double[] cpu = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            long w0 = System.nanoTime();
            long c0 = threads.getCurrentThreadCpuTime();
            for (int i = 0; i < perRound; i++) {
                denoiser.denoise(raw, offset, out);
            }
            cpu[r] = (threads.getCurrentThreadCpuTime() - c0) / 1e6 / perRound;
            wall[r] = (System.nanoTime() - w0) / 1e6 / perRound;
        }
        Arrays.sort(wall);
        Arrays.sort(cpu);
        double pixels = 4 * 256 * 256;
        System.out.printf("ms per 256x256x4 frame, one thread: wall best %.1f median %.1f | CPU best %.1f median %.1f"
                + " (%.1f Mpx/s at the CPU median)%n", wall[0], wall[rounds / 2], cpu[0], cpu[rounds / 2],
                pixels / cpu[rounds / 2] / 1e3);
    }
}
