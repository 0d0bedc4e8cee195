package io.fluostream.unmix;

import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.unmix.LeastSquaresUnmixer;
import io.fluostream.imaging.unmix.NnlsUnmixer;
import io.fluostream.imaging.unmix.PixelSamples;
import io.fluostream.imaging.unmix.PoissonUnmixer;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import io.fluostream.imaging.unmix.SpectraEstimator;
import io.fluostream.imaging.unmix.SpectralUnmixer;
import io.fluostream.imaging.unmix.UnmixingResidual;
import io.fluostream.stage.FrameInput;
import io.fluostream.stage.Parameter;
import io.fluostream.stage.ParameterValues;
import io.fluostream.stage.StageKernel;
import io.fluostream.stage.StageOutput;
import io.fluostream.stage.StageParameters;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * Unmix stage: detection channels → fluorophore abundances (frames.denoised → frames.unmixed)
 * against the reference spectra, by one of four methods ({@code method}):
 * <ul>
 *   <li>{@code nnls} (default): exact non-negative least squares per pixel;</li>
 *   <li>{@code ls}: unconstrained least squares (the fast baseline; abundances may be negative);</li>
 *   <li>{@code poisson}: non-negative Poisson maximum likelihood, for photon-limited streams (the
 *       camera gain and read noise come from the denoise stage's fitted noise model on the frame,
 *       or from parameters);</li>
 *   <li>{@code learned}: a small CNN trained on forward-model mixtures for the configured spectra
 *       ({@link LearnedModel}); for other spectra the frame is unmixed by NNLS and the provenance
 *       note says why.</li>
 * </ul>
 * Adds the per-pixel residual plane {@code unmix.residual} and the frame's relative residual, a
 * forward-model consistency check that rises when the spectra no longer fit the sample. The
 * provenance note names the spectra by fingerprint ({@link ReferenceSpectra#fingerprint()}), as
 * does the figure {@code unmix.spectra_fingerprint} (the same 8 hex digits as a number).
 *
 * <p>Blind estimation: the stage keeps a small random sample of each stream's recent pixels;
 * {@link #estimateSpectra(String)} factorises it ({@link SpectraEstimator}) and says how far the
 * estimate is from the spectra in use; {@link #adopt} makes an estimate the configured spectra.
 * (The control plane's estimate/adopt calls are thin adapters over these two.)
 *
 * <p>A frame whose channel count has no spectra (e.g. single-channel data) passes through
 * unchanged, with a provenance note, so such streams still flow through the whole chain.
 */
@ApplicationScoped
public class UnmixKernel implements StageKernel {

    private static final Logger LOG = Logger.getLogger(UnmixKernel.class.getName());

    /** Streams whose pixels are sampled for estimation; the least recently seen beyond this are dropped. */
    static final int MAX_SAMPLED_STREAMS = 64;
    /** Pixels kept per stream for estimation. */
    static final int SAMPLE_CAPACITY = 65_536;

    private final LearnedModel learned;
    private SpectralUnmixer unmixer;
    private String unmixerKey = "";
    private ReferenceSpectra spectraInUse;
    private final Map<String, PixelSamples> samples = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, PixelSamples> eldest) {
            return size() > MAX_SAMPLED_STREAMS;
        }
    };

    public UnmixKernel() {
        this(new LearnedModel());
    }

    UnmixKernel(LearnedModel learned) {
        this.learned = learned;
    }

    @Override
    public String stage() {
        return "unmix";
    }

    @Override
    public Topic input() {
        return Topic.DENOISED;
    }

    @Override
    public Topic output() {
        return Topic.UNMIXED;
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.matrix("spectra", null, UnmixKernel::checkSpectra,
                        "reference spectra, C rows (channels) of F values (fluorophores): 'a,b,c;d,e,f;...'"),
                Parameter.choice("method", List.of("nnls", "ls", "poisson", "learned"), "nnls",
                        "nnls: exact non-negative least squares; ls: unconstrained least squares; poisson: Poisson"
                                + " maximum likelihood for photon-limited data; learned: CNN for low light"
                                + " (trained for one set of spectra, NNLS for others)"),
                Parameter.integer("threads", 1, 16, 2, "threads that unmix one frame (bands of rows)"),
                Parameter.number("camera_gain_adu_per_electron", -1, 1e4, -1, "ADU/e-",
                        "camera gain for method=poisson; <= 0 takes the denoise stage's fitted gain from the frame (1 if absent)"),
                Parameter.number("read_noise_electrons", -1, 1e3, -1, "e-",
                        "camera read noise for method=poisson; < 0 takes the denoise stage's fit from the frame (0 if absent)"),
                Parameter.integer("sample_pixels", 0, 65_536, 1024,
                        "random pixels per frame kept (per stream) for blind spectra estimation; 0 keeps none"));
    }

    private static String checkSpectra(double[][] rows) {
        try {
            ReferenceSpectra.of(rows);
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    @Override
    public List<QualitySignal> qualitySignals() {
        return List.of(new QualitySignal("relative_residual", "relative_residual",
                "Forward-model residual relative to the signal (observed channels vs spectra x abundances)"));
    }

    @Override
    public StageOutput process(FrameInput in) throws FrameRejected {
        ParameterValues p = in.parameters();
        double[][] rows = p.matrix("spectra");
        Image pixels = in.pixels();
        if (rows == null || rows.length != pixels.channels()) {
            String why = rows == null ? "no reference spectra configured"
                    : "no spectra for " + pixels.channels() + " channels (spectra have " + rows.length + ")";
            return StageOutput.of(pixels).keepInputPlanes().method("passthrough").note("passthrough: " + why);
        }
        ReferenceSpectra spectra = spectra(rows);
        int perFrame = p.integer("sample_pixels");
        if (perFrame > 0) {
            samplesOf(in.streamId(), perFrame).add(pixels);
        }
        String method = p.text("method");
        String note = "spectra " + spectra.fingerprint();
        SpectralUnmixer.Result r;
        if ("learned".equals(method)) {
            LearnedModel.Outcome outcome = learned.unmix(spectra, pixels);
            if (outcome.abundances() != null) {
                r = UnmixingResidual.of(spectra, pixels, outcome.abundances());
                method = "learned:" + outcome.modelId();
            } else {
                r = unmixer(spectra, "nnls", p, in).unmix(pixels);
                method = "nnls";
                note += "; " + outcome.refusal();
            }
        } else {
            r = unmixer(spectra, method, p, in).unmix(pixels);
            if ("poisson".equals(method)) {
                PoissonUnmixer poisson = (PoissonUnmixer) unmixer;
                note += String.format(java.util.Locale.ROOT, "; gain %.4g ADU/e-, read noise %.3g e-",
                        poisson.gainAduPerElectron(), poisson.readNoiseElectrons());
            }
        }
        List<String> names = new ArrayList<>();
        for (int f = 0; f < r.abundances().channels(); f++) {
            names.add("f" + f);
        }
        return StageOutput.of(r.abundances())
                .channelNames(names)
                .plane("residual", r.residual())
                .figure("relative_residual", r.relativeResidual())
                .figure("mean_residual_adu", r.meanResidual())
                .figure("spectra_fingerprint", Long.parseLong(spectra.fingerprint(), 16))
                .method(method)
                .note(note);
    }

    /** The spectra of these rows (validated when the parameter was set), remembered while unchanged. */
    private ReferenceSpectra spectra(double[][] rows) {
        ReferenceSpectra current = spectraInUse;
        if (current == null || !java.util.Arrays.deepEquals(current.toRows(), rows)) {
            current = ReferenceSpectra.of(rows);
            spectraInUse = current;
        }
        return current;
    }

    /** The unmixer for these spectra, method and settings, rebuilt only when one of them changes. */
    private SpectralUnmixer unmixer(ReferenceSpectra spectra, String method, ParameterValues p, FrameInput in) {
        int threads = p.integer("threads");
        double gain = 1;
        double readNoise = 0;
        if ("poisson".equals(method)) {
            gain = cameraGain(p.number("camera_gain_adu_per_electron"), in);
            readNoise = readNoise(p.number("read_noise_electrons"), in);
        }
        String key = method + "|" + threads + "|" + gain + "|" + readNoise + "|" + spectra.toText();
        if (unmixer == null || !unmixerKey.equals(key)) {
            if (unmixer != null) {
                unmixer.close();
            }
            unmixer = switch (method) {
                case "ls" -> new LeastSquaresUnmixer(spectra, threads);
                case "poisson" -> new PoissonUnmixer(spectra, gain, readNoise, threads);
                default -> new NnlsUnmixer(spectra, threads);
            };
            unmixerKey = key;
        }
        return unmixer;
    }

    /** The gain parameter where positive, else the denoise stage's fit on the frame, else 1. */
    private static double cameraGain(double parameter, FrameInput in) {
        if (parameter > 0) {
            return parameter;
        }
        Double fitted = in.frame().getFiguresMap().get("denoise.gain_adu_per_electron");
        return fitted != null && Double.isFinite(fitted) && fitted > 0 ? fitted : 1;
    }

    /** The read-noise parameter where non-negative, else the denoise stage's fit on the frame, else 0. */
    private static double readNoise(double parameter, FrameInput in) {
        if (parameter >= 0) {
            return parameter;
        }
        Double fitted = in.frame().getFiguresMap().get("denoise.read_noise_electrons");
        return fitted != null && Double.isFinite(fitted) && fitted >= 0 ? fitted : 0;
    }

    private PixelSamples samplesOf(String streamId, int perFrame) {
        synchronized (samples) {
            PixelSamples s = samples.get(streamId);
            if (s == null) {
                s = new PixelSamples(SAMPLE_CAPACITY, Math.min(perFrame, SAMPLE_CAPACITY), streamId.hashCode());
                samples.put(streamId, s);
            }
            return s;
        }
    }

    /**
     * An estimate of spectra from one stream's sampled pixels, and how it compares with the
     * spectra in use.
     *
     * @param streamId             the stream it was made from ("*" for all streams pooled)
     * @param estimate             the estimate and its quality figures
     * @param current              the spectra in use when it was made (null if none yet)
     * @param worstAngleToCurrent  worst angle, degrees, between matched columns of the estimate and
     *                             the spectra in use (NaN without them)
     * @param pixels               pixels offered to the estimator
     */
    public record SpectraProposal(String streamId, SpectraEstimator.Estimate estimate, ReferenceSpectra current,
                                  double worstAngleToCurrent, int pixels) {
    }

    /**
     * Estimates spectra from one stream's recent pixels, with as many fluorophores as the spectra
     * in use have.
     *
     * @throws IllegalStateException if no spectra are in use yet (say how many labels with
     *     {@link #estimateSpectra(String, int)}) or the stream has no samples
     * @throws IllegalArgumentException if the samples cannot support an estimate (the message says why)
     */
    public SpectraProposal estimateSpectra(String streamId) {
        ReferenceSpectra current = spectraInUse;
        if (current == null) {
            throw new IllegalStateException("no spectra in use yet, so the number of fluorophores is unknown;"
                    + " call estimateSpectra(stream, fluorophores)");
        }
        return estimateSpectra(streamId, current.fluorophores());
    }

    /** {@link #estimateSpectra(String)} from all sampled streams together. */
    public SpectraProposal estimateSpectra() {
        return estimateSpectra("*");
    }

    /**
     * Estimates {@code fluorophores} spectra from one stream's recent pixels ({@code "*"}: all
     * streams with the spectra's channel count, pooled).
     *
     * @throws IllegalStateException if nothing has been sampled for the stream (name it, or let
     *     frames through with {@code sample_pixels > 0})
     * @throws IllegalArgumentException if the samples cannot support an estimate
     */
    public SpectraProposal estimateSpectra(String streamId, int fluorophores) {
        float[][] pixels = pooledSamples(streamId);
        ReferenceSpectra current = spectraInUse;
        SpectraEstimator estimator = new SpectraEstimator(SpectraEstimator.Settings.of(fluorophores));
        SpectraEstimator.Estimate estimate = estimator.estimate(pixels);
        double angle = current != null && current.channels() == estimate.spectra().channels()
                && current.fluorophores() == fluorophores
                ? SpectraEstimator.worstAngleDegrees(current, estimate.spectra(), null) : Double.NaN;
        return new SpectraProposal(streamId, estimate, current, angle, pixels.length == 0 ? 0 : pixels[0].length);
    }

    private float[][] pooledSamples(String streamId) {
        List<float[][]> parts = new ArrayList<>();
        synchronized (samples) {
            if ("*".equals(streamId)) {
                ReferenceSpectra current = spectraInUse;
                for (PixelSamples s : samples.values()) {
                    if (s.size() > 0 && (current == null || s.channels() == current.channels())) {
                        parts.add(s.snapshot());
                    }
                }
            } else {
                PixelSamples s = samples.get(streamId);
                if (s != null && s.size() > 0) {
                    parts.add(s.snapshot());
                }
            }
        }
        if (parts.isEmpty()) {
            throw new IllegalStateException("no pixels sampled " + ("*".equals(streamId) ? "from any stream"
                    : "from stream '" + streamId + "'") + "; let frames through with sample_pixels > 0 first");
        }
        int nc = parts.get(0).length;
        int total = parts.stream().mapToInt(a -> a[0].length).sum();
        float[][] pooled = new float[nc][total];
        int at = 0;
        for (float[][] part : parts) {
            for (int c = 0; c < nc; c++) {
                System.arraycopy(part[c], 0, pooled[c], at, part[c].length);
            }
            at += part[0].length;
        }
        return pooled;
    }

    /**
     * Makes a proposal's spectra the configured spectra, validated like any SetParameters call;
     * the next frame is unmixed with them. (With several replicas the control plane publishes the
     * change on the compacted control topic instead, so that every replica applies it.)
     *
     * @return the parameters now in force
     * @throws io.fluostream.stage.InvalidParameterException if the spectra are not acceptable
     */
    public ParameterValues adopt(SpectraProposal proposal, StageParameters parameters) {
        return parameters.set(Map.of("spectra", proposal.estimate().spectra().toRows()));
    }

    /** The spectra of the last unmixed frame, or null before the first. */
    public ReferenceSpectra spectraInUse() {
        return spectraInUse;
    }

    /**
     * At start: loads the learned model when the configured method needs it, so that the first
     * frame does not wait for the engine (seconds).
     */
    void warmUp(@Observes StartupEvent event) {
        String method = ConfigProvider.getConfig().getOptionalValue("fluostream.unmix.method", String.class).orElse("");
        if ("learned".equalsIgnoreCase(method.trim())) {
            String problem = learned.load();
            if (problem != null) {
                LOG.warning(problem);
            }
        }
    }

    @PreDestroy
    void close() {
        if (unmixer != null) {
            unmixer.close();
        }
        learned.close();
    }
}
