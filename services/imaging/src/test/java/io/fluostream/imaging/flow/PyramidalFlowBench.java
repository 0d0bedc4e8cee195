package io.fluostream.imaging.flow;

import io.fluostream.imaging.Image;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * Single-thread throughput of {@link PyramidalFlow} in megapixels per second on a textured frame
 * pair with a smooth vortex, at 256×256 and 512×512 (or the sizes given as arguments). A plain
 * benchmark main, not a test: run it after {@code mvn test-compile} with
 * {@code java -cp services/imaging/target/classes:services/imaging/target/test-classes
 * io.fluostream.imaging.flow.PyramidalFlowBench [size ...]}.
 */
public final class PyramidalFlowBench {

    private static final ThreadMXBean THREADS =
            ManagementFactory.getThreadMXBean();

    private PyramidalFlowBench() {
    }

    public static void main(String[] args) {
        int[] sizes = args.length == 0 ? new int[] {256, 512} : new int[args.length];
        for (int k = 0; k < args.length; k++) {
            sizes[k] = Integer.parseInt(args[k]);
        }
        for (int size : sizes) {
            FlowScenes.Scene scene = FlowScenes.render(FlowScenes.randomBlobs(11, size, size, 40),
                    FlowScenes.vortex(2, size / 5.0, size / 2.0, size / 2.0), size, size);
            Image a = scene.previous();
            Image b = scene.next();
            PyramidalFlow flow = new PyramidalFlow();
            FlowField out = new FlowField(size, size);
            double megapixels = size * (double) size / 1e6;
            // Warm up the JIT for ~2 s, then time 10 batches of ~0.3 s each. On a shared machine
            // the thread's CPU time per frame (median batch) is the steadiest figure; the best
            // wall-clock batch is the closest to an idle machine; the median wall-clock batch
            // shows how busy it was.
            long warmEnd = System.nanoTime() + 2_000_000_000L;
            int warm = 0;
            while (System.nanoTime() < warmEnd) {
                flow.estimate(a, b, out);
                warm++;
            }
            int perBatch = Math.max(1, warm * 3 / 20);
            double[] msPerFrame = new double[10];
            double[] cpuMsPerFrame = new double[10];
            for (int batch = 0; batch < msPerFrame.length; batch++) {
                long t0 = System.nanoTime();
                long c0 = THREADS.getCurrentThreadCpuTime();
                for (int k = 0; k < perBatch; k++) {
                    flow.estimate(a, b, out);
                }
                msPerFrame[batch] = (System.nanoTime() - t0) / 1e6 / perBatch;
                cpuMsPerFrame[batch] = (THREADS.getCurrentThreadCpuTime() - c0) / 1e6 / perBatch;
            }
            Arrays.sort(msPerFrame);
            Arrays.sort(cpuMsPerFrame);
            double best = msPerFrame[0];
            double median = 0.5 * (msPerFrame[4] + msPerFrame[5]);
            double cpu = 0.5 * (cpuMsPerFrame[4] + cpuMsPerFrame[5]);
            SignalMask mask = SignalMask.interior(size, size, 12);
            System.out.printf("%dx%d: best %.2f ms/frame = %.2f MP/s single thread (median %.2f ms = %.2f MP/s;"
                            + " thread CPU %.2f ms = %.2f MP/s), EPE %.4f px, %s%n", size, size, best,
                    megapixels / best * 1e3, median, megapixels / median * 1e3, cpu, megapixels / cpu * 1e3,
                    FlowField.endpointError(out, scene.truth(), mask), flow.settings());
        }
    }
}
