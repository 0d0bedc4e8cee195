package io.fluostream.cli;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.frames.TopicNames;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import io.fluostream.imaging.flow.FlowField;
import io.fluostream.imaging.flow.SignalMask;
import io.fluostream.imaging.sim.ForwardModel;
import io.fluostream.imaging.sim.SimulatedFrame;
import io.fluostream.imaging.unmix.LeastSquaresUnmixer;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import io.fluostream.proto.Frame;
import io.fluostream.rig.RigOptions;
import io.fluostream.rig.RigSimulator;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Scores every stage's output against the rig's ground truth, which it rebuilds from the forward
 * model (a pure function of settings, stream and frame index) instead of storing it:
 * denoise PSNR before and after, unmixing error (and that of unconstrained least squares on the
 * same denoised frames), drift error, and flow endpoint error (and that of a zero field).
 */
public final class GroundTruthReport {

    private final RigOptions options;
    private final ForwardModel[] models;
    private final Map<String, Integer> streamIndex = new HashMap<>();
    private final ReferenceSpectra spectra;

    private double psnrInSum;
    private int psnrInFrames;
    private double psnrOutSum;
    private int psnrOutFrames;
    private double unmixSq;
    private double unmixLsSq;
    private double unmixTruth;
    private long unmixSamples;
    private long unmixLsSamples;
    private double shiftSq;
    private int shiftFrames;
    private double epeSum;
    private double epeZeroSum;
    private long epePixels;

    public GroundTruthReport(RigOptions options) {
        this.options = options;
        this.models = new ForwardModel[options.streams()];
        for (int i = 0; i < models.length; i++) {
            models[i] = RigSimulator.model(options, i);
            streamIndex.put(RigOptions.streamId(i), i);
        }
        this.spectra = ReferenceSpectra.of(models[0].mixingMatrix());
    }

    /** Reads each stage topic from the beginning and scores every frame (two worker threads). */
    public void measure(String bootstrap, TopicNames names) throws InterruptedException {
        int expected = options.streams() * options.frames();
        for (Topic topic : Topic.pipeline()) {
            ExecutorService workers = Executors.newFixedThreadPool(2);
            Semaphore inFlight = new Semaphore(8);
            AtomicInteger seen = new AtomicInteger();
            try (FrameCollector collector = new FrameCollector(bootstrap, List.of(names.name(topic)))) {
                collector.collect(record -> {
                    if (!streamIndex.containsKey(record.key())) {
                        return;
                    }
                    seen.incrementAndGet();
                    inFlight.acquireUninterruptibly();
                    workers.submit(() -> {
                        try {
                            score(topic, record);
                        } finally {
                            inFlight.release();
                        }
                    });
                }, () -> seen.get() >= expected, Duration.ofSeconds(20));
            } finally {
                workers.shutdown();
                workers.awaitTermination(10, TimeUnit.MINUTES);
            }
        }
    }

    private void score(Topic topic, ConsumerRecord<String, byte[]> record) {
        Frame frame;
        Image pixels;
        try {
            frame = FrameImages.parse(record.value());
            pixels = FrameImages.image(frame);
        } catch (FrameRejected e) {
            return;
        }
        Integer index = streamIndex.get(frame.getStreamId());
        if (index == null) {
            return;
        }
        ForwardModel model = models[index];
        int t = (int) frame.getSequence();
        switch (topic) {
            case RAW -> scoreRaw(model.frame(t), pixels, frame.getAcquisition().getCameraOffsetAdu());
            case DENOISED -> scoreDenoised(model.frame(t), pixels);
            case UNMIXED -> scoreUnmixed(model.frame(t), pixels);
            case STABILISED -> scoreShift(model, t, frame);
            case FLOW -> scoreFlow(model, t, pixels);
            default -> { }
        }
    }

    private void scoreRaw(SimulatedFrame truth, Image raw, double offset) {
        Image offsetFree = raw.copy();
        for (int i = 0; i < offsetFree.data().length; i++) {
            offsetFree.data()[i] -= (float) offset;
        }
        double psnr = Images.psnr(truth.cleanChannels(), offsetFree);
        synchronized (this) {
            psnrInSum += psnr;
            psnrInFrames++;
        }
    }

    private void scoreDenoised(SimulatedFrame truth, Image denoised) {
        double psnr = Images.psnr(truth.cleanChannels(), denoised);
        Image ls = new LeastSquaresUnmixer(spectra).unmix(denoised).abundances();
        double sq = Images.sumSquaredDifference(ls, truth.abundances());
        synchronized (this) {
            psnrOutSum += psnr;
            psnrOutFrames++;
            unmixLsSq += sq;
            unmixLsSamples += ls.data().length;
        }
    }

    private void scoreUnmixed(SimulatedFrame truth, Image abundances) {
        if (!abundances.sameShape(truth.abundances())) {
            return;
        }
        double sq = Images.sumSquaredDifference(abundances, truth.abundances());
        double sum = 0;
        for (float v : truth.abundances().data()) {
            sum += v;
        }
        synchronized (this) {
            unmixSq += sq;
            unmixTruth += sum;
            unmixSamples += abundances.data().length;
        }
    }

    private void scoreShift(ForwardModel model, int t, Frame frame) {
        double ex = frame.getFiguresOrDefault("stabilise.shift_x_px", Double.NaN) - model.driftX(t);
        double ey = frame.getFiguresOrDefault("stabilise.shift_y_px", Double.NaN) - model.driftY(t);
        synchronized (this) {
            shiftSq += ex * ex + ey * ey;
            shiftFrames++;
        }
    }

    private void scoreFlow(ForwardModel model, int t, Image uv) {
        if (t == 0) {
            return;
        }
        FlowField truth = new FlowField(model.frame(t).flow());
        FlowField estimate = new FlowField(uv);
        // Pixels with signal in the earlier frame, away from borders the drift correction left empty.
        int margin = (int) Math.ceil(Math.max(Math.max(Math.abs(model.driftX(t - 1)), Math.abs(model.driftY(t - 1))),
                Math.max(Math.abs(model.driftX(t)), Math.abs(model.driftY(t))))) + 4;
        SignalMask mask = SignalMask.fromIntensity(Images.sumChannels(model.driftFreeAbundances(t - 1)),
                SignalMask.DEFAULT_FRACTION, margin);
        int n = mask.count();
        if (n == 0) {
            return;
        }
        double epe = FlowField.endpointError(estimate, truth, mask) * n;
        double zero = FlowField.endpointError(new FlowField(uv.height(), uv.width()), truth, mask) * n;
        synchronized (this) {
            epeSum += epe;
            epeZeroSum += zero;
            epePixels += n;
        }
    }

    public synchronized double psnrIn() {
        return psnrInSum / psnrInFrames;
    }

    public synchronized double psnrOut() {
        return psnrOutSum / psnrOutFrames;
    }

    /** RMSE of the abundances relative to the mean true abundance. */
    public synchronized double unmixRmseRel() {
        return Math.sqrt(unmixSq / unmixSamples) / (unmixTruth / unmixSamples);
    }

    public synchronized double unmixRmseRelLeastSquares() {
        return Math.sqrt(unmixLsSq / unmixLsSamples) / (unmixTruth / unmixSamples);
    }

    public synchronized double stabiliseRmsErrorPx() {
        return Math.sqrt(shiftSq / shiftFrames);
    }

    public synchronized double flowEpePx() {
        return epeSum / epePixels;
    }

    public synchronized double flowEpeZeroPx() {
        return epeZeroSum / epePixels;
    }
}
