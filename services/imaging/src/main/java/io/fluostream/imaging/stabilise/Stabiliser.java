package io.fluostream.imaging.stabilise;

import io.fluostream.imaging.Image;
import java.util.HashMap;
import java.util.Map;

/**
 * Registers frames of streams to their templates and corrects every channel: the stabilise stage's
 * algorithm, free of Kafka and Quarkus.
 *
 * <p>Per frame ({@link #register}):
 * <ol>
 *   <li>The frame's registration plane (one channel or the channel sum) is binned
 *       ({@link RegistrationPlane}) and its rigid shift against the template's plane measured by
 *       {@link PhaseCorrelator} (windowed phase correlation, upsampled-DFT refinement).</li>
 *   <li>Confidence below {@code minConfidence}: the frame is flagged low-confidence and passed
 *       unregistered, or corrected with the last trusted correction ({@code lowConfidence} policy).</li>
 *   <li>Piecewise mode: each patch's shift is measured near the rigid one and a smooth
 *       {@link DisplacementField} fitted to them all ({@link PatchCorrelator}).</li>
 *   <li>The same shift ({@link ShiftResampler}) or field ({@link FieldResampler}) is applied to
 *       every channel at full resolution.</li>
 *   <li>Running-mean template: the registered frame is folded in ({@link StreamTemplate}); the
 *       template's transforms are rebuilt every {@code templateRefreshFrames} folds.</li>
 * </ol>
 *
 * <p>Threads: the work of each step is split between a {@link Workers} team of {@code threads}
 * (the caller is one of them). An instance keeps transforms and buffers per frame shape, shared
 * by all the streams it serves; per-stream state lives in each {@link StreamTemplate}. Not
 * thread-safe: one caller at a time. {@link #close} stops the helper threads.
 */
public final class Stabiliser implements AutoCloseable {

    private final Workers workers;
    private final ShiftResampler shiftResampler;
    private final FieldResampler fieldResampler;
    private final Map<PlaneKey, PhaseCorrelator> correlators = new HashMap<>();
    private final Map<PatchKey, PatchCorrelator> patchCorrelators = new HashMap<>();
    private Image plane;
    private Image fullPlane;
    private byte[] mask = new byte[0];

    private record PlaneKey(int height, int width, int bin) {
    }

    private record PatchKey(int height, int width, int bin, int patch, int stride) {
    }

    /** A stabiliser whose steps run on {@code threads} threads (1–16), the caller included. */
    public Stabiliser(int threads) {
        if (threads < 1 || threads > 16) {
            throw new IllegalArgumentException("threads must be 1..16, got " + threads);
        }
        this.workers = new Workers(threads);
        this.shiftResampler = new ShiftResampler(workers);
        this.fieldResampler = new FieldResampler(workers);
    }

    public int threads() {
        return workers.count();
    }

    /** {@link #register(StreamTemplate, Image, long, StabiliseSettings, Image)} into a new output image. */
    public Registration register(StreamTemplate stream, Image frame, long sequence, StabiliseSettings settings) {
        return register(stream, frame, sequence, settings, null);
    }

    /**
     * Registers {@code frame} (sequence number {@code sequence}) of the stream whose state is
     * {@code stream}, and corrects it into {@code out} (the frame's shape; null: a new image). If
     * the stream has no template yet, or one of another shape, the frame becomes its template and
     * passes as it is.
     *
     * @throws IllegalArgumentException if the registration channel does not exist in the frame, or
     *                                  the frame holds NaN or infinite samples in the registration plane
     */
    public Registration register(StreamTemplate stream, Image frame, long sequence, StabiliseSettings settings,
            Image out) {
        if (settings.registrationChannel() >= frame.channels()) {
            throw new IllegalArgumentException("registration_channel is " + settings.registrationChannel()
                    + " but the frame has " + frame.channels() + " channels; set it to -1 (sum) or a channel below "
                    + frame.channels());
        }
        if (out != null && (!out.sameShape(frame) || out.data() == frame.data())) {
            throw new IllegalArgumentException("output " + out + " must be a separate image of the frame's shape " + frame);
        }
        Image template = stream.image();
        if (template == null || !compatible(template, frame)) {
            stream.install(frame.copy(), sequence, false);
            return new Registration(new Shift(0, 0, 1), false, Registration.Correction.NONE, 0, 0, null, 0, 0, frame,
                    true);
        }
        int bin = RegistrationPlane.binning(settings.binning(), frame.height(), frame.width());
        boolean piecewise = settings.mode() == StabiliseSettings.Mode.PIECEWISE;
        StreamTemplate.Prepared prepared = prepare(stream, settings, bin, piecewise);

        PhaseCorrelator correlator = correlator(frame.height() / bin, frame.width() / bin, bin);
        if (plane == null || plane.height() != correlator.height() || plane.width() != correlator.width()) {
            plane = new Image(1, correlator.height(), correlator.width());
        }
        RegistrationPlane.reduce(frame, settings.registrationChannel(), bin, plane, workers);
        Shift binned = correlator.estimate(prepared.rigid(), plane);
        Shift measured = new Shift(bin * binned.dx(), bin * binned.dy(), binned.confidence());
        boolean trusted = measured.confidence() >= settings.minConfidence();

        DisplacementField field = null;
        int patches = 0;
        int replaced = 0;
        if (trusted && piecewise) {
            PatchCorrelator pc = patchCorrelator(frame.height() / bin, frame.width() / bin, bin, settings);
            int count = pc.rows() * pc.columns();
            double[] dx = new double[count];
            double[] dy = new double[count];
            double[] match = new double[count];
            double[] fieldX = new double[pc.nodesX() * pc.nodesY()];
            double[] fieldY = new double[fieldX.length];
            pc.estimate(prepared.patches(), plane, binned.dx(), binned.dy(), settings.maxPatchDeviationPx() / bin,
                    settings.minPatchMatch(), dx, dy, match, fieldX, fieldY);
            // Plane pixel k is centred on frame pixel bin·k + (bin − 1)/2; shifts scale by bin.
            for (int i = 0; i < count; i++) {
                dx[i] *= bin;
                dy[i] *= bin;
                if (match[i] == 0) {
                    replaced++;
                }
            }
            for (int i = 0; i < fieldX.length; i++) {
                fieldX[i] *= bin;
                fieldY[i] *= bin;
            }
            patches = count;
            field = DisplacementField.spline(frame.height(), frame.width(), pc.nodesX(), pc.nodesY(),
                    bin * pc.nodeX0() + 0.5 * (bin - 1), bin * pc.nodeY0() + 0.5 * (bin - 1), bin * pc.nodeStepX(),
                    bin * pc.nodeStepY(), fieldX, fieldY, pc.columns(), pc.rows(), dx, dy, match);
        }

        Registration.Correction correction;
        double ax;
        double ay;
        if (trusted) {
            correction = Registration.Correction.MEASURED;
            ax = measured.dx();
            ay = measured.dy();
        } else if (settings.lowConfidence() == StabiliseSettings.LowConfidencePolicy.HOLD
                && stream.lastGoodShift != null) {
            correction = Registration.Correction.HELD;
            ax = stream.lastGoodShift.dx();
            ay = stream.lastGoodShift.dy();
            field = piecewise ? stream.lastGoodField : null;
        } else {
            correction = Registration.Correction.NONE;
            ax = 0;
            ay = 0;
        }

        Image corrected = frame;
        int[] valid = null;
        boolean masked = false;
        if (correction != Registration.Correction.NONE) {
            corrected = out != null ? out : new Image(frame.channels(), frame.height(), frame.width());
            if (field != null) {
                int n = frame.planeSize();
                if (mask.length < n) {
                    mask = new byte[n];
                }
                fieldResampler.resample(frame, field, corrected, mask);
                masked = true;
            } else {
                shiftResampler.resample(frame, ax, ay, corrected);
                valid = ShiftResampler.validRegion(frame.height(), frame.width(), ax, ay);
            }
        }

        if (trusted) {
            stream.lastGoodShift = measured;
            stream.lastGoodField = field;
            if (settings.template() == StabiliseSettings.TemplatePolicy.RUNNING_MEAN) {
                Image folded = corrected;
                if (template.channels() != frame.channels()) {
                    // A single-plane template (a user reference) averages the registration plane.
                    if (fullPlane == null || fullPlane.height() != frame.height() || fullPlane.width() != frame.width()) {
                        fullPlane = new Image(1, frame.height(), frame.width());
                    }
                    RegistrationPlane.reduce(corrected, settings.registrationChannel(), 1, fullPlane, workers);
                    folded = fullPlane;
                }
                stream.fold(folded, valid, masked ? mask : null, settings.templateFrames(),
                        settings.templateRefreshFrames(), sequence);
            }
        }
        return new Registration(measured, !trusted, correction, ax, ay, field, patches, replaced, corrected, false);
    }

    /** The template's transforms for this geometry, rebuilt when the template or the geometry changed. */
    private StreamTemplate.Prepared prepare(StreamTemplate stream, StabiliseSettings settings, int bin, boolean piecewise) {
        Image template = stream.image();
        int channel = template.channels() == 1 ? -1 : settings.registrationChannel();
        int patch = piecewise ? patchSide(settings, bin) : 0;
        int stride = piecewise ? patchStride(settings, bin) : 0;
        StreamTemplate.Prepared p = stream.prepared;
        if (p != null && p.version() == stream.version() && p.bin() == bin && p.channel() == channel
                && (!piecewise || (p.patches() != null && p.patch() == patch && p.stride() == stride))) {
            return p;
        }
        int h = template.height() / bin;
        int w = template.width() / bin;
        Image templatePlane = new Image(1, h, w);
        RegistrationPlane.reduce(template, channel, bin, templatePlane, workers);
        ReferenceSpectrum rigid = correlator(h, w, bin).prepare(templatePlane);
        PatchCorrelator.PatchTemplate patches = piecewise
                ? patchCorrelator(h, w, bin, settings).prepare(templatePlane) : null;
        p = new StreamTemplate.Prepared(stream.version(), bin, channel, patch, stride, rigid, patches);
        stream.prepared = p;
        return p;
    }

    private PhaseCorrelator correlator(int h, int w, int bin) {
        return correlators.computeIfAbsent(new PlaneKey(h, w, bin), k -> {
            PhaseCorrelator.Settings d = PhaseCorrelator.Settings.DEFAULT;
            // The spectral weight is set in cycles per frame pixel: per binned pixel it is bin times that.
            PhaseCorrelator.Settings s = new PhaseCorrelator.Settings(d.upsampleFactor(), d.windowTaper(),
                    d.bandwidth() * bin, d.regularisation(), d.fineRegularisation());
            return new PhaseCorrelator(h, w, s, workers);
        });
    }

    private PatchCorrelator patchCorrelator(int h, int w, int bin, StabiliseSettings settings) {
        int patch = patchSide(settings, bin);
        int stride = patchStride(settings, bin);
        return patchCorrelators.computeIfAbsent(new PatchKey(h, w, bin, patch, stride), k -> new PatchCorrelator(
                h, w, patch, stride, PhaseCorrelator.Settings.DEFAULT.bandwidth() * bin,
                PhaseCorrelator.Settings.DEFAULT.windowTaper(), workers));
    }

    private static int patchSide(StabiliseSettings settings, int bin) {
        return Math.max(8, settings.patchPx() / bin);
    }

    private static int patchStride(StabiliseSettings settings, int bin) {
        return Math.max(1, (settings.patchPx() - settings.patchOverlapPx()) / bin);
    }

    /** A template serves frames of its height and width, with the frames' channels or a single plane. */
    private static boolean compatible(Image template, Image frame) {
        return template.height() == frame.height() && template.width() == frame.width()
                && (template.channels() == frame.channels() || template.channels() == 1);
    }

    @Override
    public void close() {
        workers.close();
    }
}
