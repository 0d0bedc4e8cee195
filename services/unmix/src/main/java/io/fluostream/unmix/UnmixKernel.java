package io.fluostream.unmix;

import io.fluostream.frames.FrameRejected;
import io.fluostream.frames.Topic;
import io.fluostream.imaging.Image;
import io.fluostream.imaging.unmix.LeastSquaresUnmixer;
import io.fluostream.imaging.unmix.NnlsUnmixer;
import io.fluostream.imaging.unmix.PoissonUnmixer;
import io.fluostream.imaging.unmix.RawTiles;
import io.fluostream.imaging.unmix.ReferenceSpectra;
import io.fluostream.imaging.unmix.SpectraEstimator;
import io.fluostream.imaging.unmix.SpectralUnmixer;
import io.fluostream.imaging.unmix.UnmixingResidual;
import io.fluostream.learning.device.DeviceChoice;
import io.fluostream.learning.device.DeviceUnmixer;
import io.fluostream.proto.AdoptSpectraRequest;
import io.fluostream.proto.EstimateSpectraRequest;
import io.fluostream.proto.Matrix;
import io.fluostream.proto.ParameterValue;
import io.fluostream.proto.SetSpectraRequest;
import io.fluostream.proto.StageCommand;
import io.fluostream.proto.StageReply;
import io.fluostream.stage.CommandContext;
import io.fluostream.stage.FrameInput;
import io.fluostream.stage.InvalidCommandException;
import io.fluostream.stage.InvalidParameterException;
import io.fluostream.stage.Parameter;
import io.fluostream.stage.ParameterValues;
import io.fluostream.stage.StageKernel;
import io.fluostream.stage.StageOutput;
import io.fluostream.stage.StageParameters;
import io.fluostream.stage.StageRuntime;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Logger;
import org.eclipse.microprofile.config.ConfigProvider;

/**
 * Unmix stage: detection channels → fluorophore abundances (frames.denoised → frames.unmixed; also
 * reads frames.raw, only to sample tiles for blind spectra estimation)
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
 * <p>Control calls ({@code control.proto}): {@code SetSpectra} puts spectra in force and
 * {@code AdoptSpectra} a candidate of {@code EstimateSpectra}; both set the {@code spectra}
 * parameter on every replica from the compacted control topic, carrying the matrix itself, so every
 * replica (and a restarted one replaying the topic) unmixes with the same spectra from its next
 * frame. {@code EstimateSpectra} is answered by the replica called, from the camera's own frames:
 * the stage taps frames.raw ({@link #tap()}; it only looks, nothing is written or dead-lettered
 * there) and keeps, per stream, the newest {@code sample_tiles} random {@value #TILE_SIDE}²-px tiles
 * of every {@code sample_every}-th raw frame ({@link RawTiles}); {@link SpectraEstimator} reads
 * those neighbourhoods. Raw rather than denoised frames, because the denoiser's per-channel
 * shrinkage bends the spectra of small structures. The reply carries the candidate's spectra, the
 * uniform level removed per channel ({@code background}) and a candidate id that names them by
 * fingerprint. Memory: at most {@value #MAX_SAMPLED_TILES} tiles across streams ({@code 256 × 128² ×
 * C × 4} bytes, 64 MiB at C = 4; 16 streams × 16 tiles at the defaults), the least recently tapped
 * streams dropped first.
 *
 * <p>A frame whose channel count has no spectra (e.g. single-channel data) passes through
 * unchanged, with a provenance note, so such streams still flow through the whole chain.
 */
@ApplicationScoped
public class UnmixKernel implements StageKernel {

    private static final Logger LOG = Logger.getLogger(UnmixKernel.class.getName());

    /**
     * Side of the raw tiles kept for estimation, px: room for the neighbourhoods (edges, smoothing)
     * the estimator reads, at a cost per frame independent of the camera's frame size.
     */
    static final int TILE_SIDE = 128;
    /**
     * Tiles kept across all streams: {@code sample_tiles} per stream, for the most recently tapped
     * {@code MAX_SAMPLED_TILES / sample_tiles} streams (at least one).
     */
    static final int MAX_SAMPLED_TILES = 256;
    /** Streams whose raw frames are counted for {@code sample_every}; the least recently seen beyond this start again. */
    static final int MAX_COUNTED_STREAMS = 1024;

    /** Candidates of EstimateSpectra kept on this replica, for AdoptSpectra by id alone. */
    static final int MAX_CANDIDATES = 16;

    private final LearnedModel learned;
    /** The service's runtime (CDI); its parameters are where SetSpectra and AdoptSpectra put spectra. */
    @Inject
    Instance<StageRuntime> runtime;
    private StageParameters parameters;
    /** Fluorophore names of the last SetSpectra, valid while the spectra of that fingerprint are in force. */
    private List<String> names = List.of();
    private String namesFingerprint = "";
    private final Map<String, ReferenceSpectra> candidates = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, ReferenceSpectra> eldest) {
            return size() > MAX_CANDIDATES;
        }
    };
    private SpectralUnmixer unmixer;
    private String unmixerKey = "";
    private final DeviceChoice device;
    /** The device path's unmixer (nnls, ls on gpu or djl-cpu); rebuilt when spectra or method change. */
    private DeviceUnmixer deviceUnmixer;
    private String deviceUnmixerKey = "";
    private ReferenceSpectra spectraInUse;
    /** Raw tiles per stream, least recently tapped first; guarded by itself. */
    private final Map<String, RawTiles> samples = new LinkedHashMap<>(16, 0.75f, true);
    /** Raw frames offered per stream, for sample_every; guarded by {@link #samples}. */
    private final Map<String, long[]> rawFrames = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, long[]> eldest) {
            return size() > MAX_COUNTED_STREAMS;
        }
    };

    public UnmixKernel() {
        this(new LearnedModel(), DeviceChoice.cpu());
    }

    /**
     * The service's kernel on {@code device} (fluostream.device): on gpu or djl-cpu the nnls and ls
     * methods run on the device path ({@link DeviceUnmixer}: least squares as one batched matrix
     * product, then the exact non-negativity fix); poisson and learned run as on the CPU path.
     */
    @Inject
    public UnmixKernel(DeviceChoice device) {
        this(new LearnedModel(), device);
    }

    UnmixKernel(LearnedModel learned) {
        this(learned, DeviceChoice.cpu());
    }

    UnmixKernel(LearnedModel learned, DeviceChoice device) {
        this.learned = learned;
        this.device = device;
    }

    @Override
    public String device() {
        return device.label();
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

    /** The camera's frames, tapped for blind spectra estimation (see the class comment). */
    @Override
    public Topic tap() {
        return Topic.RAW;
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
                Parameter.integer("sample_tiles", 0, 256, 16,
                        "raw-frame tiles (" + TILE_SIDE + " x " + TILE_SIDE + " px, one per sampled frame) kept per"
                                + " stream for blind spectra estimation (EstimateSpectra); 0 keeps none"),
                Parameter.integer("sample_every", 1, 1000, 4,
                        "take a tile from every n-th raw frame of a stream (each one taken is decoded in full)"));
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
        String method = p.text("method");
        String note = "spectra " + spectra.fingerprint();
        SpectralUnmixer.Result r;
        if ("learned".equals(method)) {
            LearnedModel.Outcome outcome = learned.unmix(spectra, pixels);
            if (outcome.abundances() != null) {
                r = UnmixingResidual.of(spectra, pixels, outcome.abundances());
                method = "learned:" + outcome.modelId();
            } else {
                r = solve(spectra, "nnls", p, in, pixels);
                method = "nnls";
                note += "; " + outcome.refusal();
            }
        } else {
            r = solve(spectra, method, p, in, pixels);
            if ("poisson".equals(method)) {
                PoissonUnmixer poisson = (PoissonUnmixer) unmixer;
                note += String.format(java.util.Locale.ROOT, "; gain %.4g ADU/e-, read noise %.3g e-",
                        poisson.gainAduPerElectron(), poisson.readNoiseElectrons());
            }
        }
        return StageOutput.of(r.abundances())
                .channelNames(channelNames(spectra))
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

    /** Unmixes with a classical method: on the device path for nnls and ls when the stage runs on one. */
    private SpectralUnmixer.Result solve(ReferenceSpectra spectra, String method, ParameterValues p, FrameInput in, Image pixels) {
        if (device.onDevice() && ("nnls".equals(method) || "ls".equals(method))) {
            String key = method + "|" + spectra.toText();
            if (deviceUnmixer == null || !deviceUnmixerKey.equals(key)) {
                if (deviceUnmixer != null) {
                    deviceUnmixer.close();
                }
                deviceUnmixer = new DeviceUnmixer(spectra, "nnls".equals(method), device.device());
                deviceUnmixerKey = key;
            }
            return deviceUnmixer.unmix(pixels);
        }
        return unmixer(spectra, method, p, in).unmix(pixels);
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

    // --- Tap: raw frames sampled as tiles for EstimateSpectra ---------------------------------------

    /** Every {@code sample_every}-th raw frame of a stream, from its first, while {@code sample_tiles > 0}. */
    @Override
    public boolean observes(String streamId) {
        ParameterValues p = stageParameters().current();
        if (p.integer("sample_tiles") == 0) {
            return false;
        }
        long every = p.integer("sample_every");
        synchronized (samples) {
            return rawFrames.computeIfAbsent(streamId, k -> new long[1])[0]++ % every == 0;
        }
    }

    @Override
    public void observe(String streamId, Image pixels) {
        int capacity = stageParameters().current().integer("sample_tiles");
        if (capacity > 0) {
            tilesOf(streamId, capacity).add(pixels);
        }
    }

    /**
     * The stream's tiles, made for {@code capacity} (remade, keeping the newest, when sample_tiles
     * changed); drops the least recently tapped streams beyond the {@link #MAX_SAMPLED_TILES} budget.
     */
    private RawTiles tilesOf(String streamId, int capacity) {
        synchronized (samples) {
            RawTiles kept = samples.get(streamId);
            if (kept == null || kept.capacity() != capacity) {
                RawTiles tiles = new RawTiles(capacity, TILE_SIDE, streamId.hashCode());
                if (kept != null) {
                    // Kept tiles are at most TILE_SIDE on a side, so each is kept whole.
                    kept.newest(capacity).forEach(tiles::add);
                }
                kept = tiles;
                samples.put(streamId, kept);
            }
            int streams = Math.max(1, MAX_SAMPLED_TILES / capacity);
            var leastRecent = samples.values().iterator();
            while (samples.size() > streams) {
                leastRecent.next();
                leastRecent.remove();
            }
            return kept;
        }
    }

    /** Tiles kept for the stream on this replica (0 if none). */
    int tilesKept(String streamId) {
        synchronized (samples) {
            RawTiles kept = samples.get(streamId);
            return kept == null ? 0 : kept.size();
        }
    }

    /** Output channel names: those of the last SetSpectra while its spectra are in force, else f0, f1, ... */
    private List<String> channelNames(ReferenceSpectra spectra) {
        if (!names.isEmpty() && spectra.fingerprint().equals(namesFingerprint)) {
            return names;
        }
        List<String> generic = new ArrayList<>();
        for (int f = 0; f < spectra.fluorophores(); f++) {
            generic.add("f" + f);
        }
        return generic;
    }

    /**
     * An estimate of spectra from sampled raw tiles, and how it compares with the spectra in use.
     *
     * @param candidateId          "{@code <stream>@<fingerprint>}": names the estimate on every replica
     * @param streamId             the stream it was made from ("*" for all streams pooled)
     * @param estimate             the estimate and its quality figures
     * @param current              the spectra in force when it was made (null if none)
     * @param worstAngleToCurrent  worst angle, degrees, between matched columns of the estimate and
     *                             the spectra in force (NaN without comparable ones)
     * @param tiles                raw tiles offered to the estimator
     */
    record SpectraProposal(String candidateId, String streamId, SpectraEstimator.Estimate estimate,
                           ReferenceSpectra current, double worstAngleToCurrent, int tiles) {
    }

    // --- Control calls -----------------------------------------------------------------------------

    @Override
    public boolean serves(StageCommand.CallCase call) {
        return call == StageCommand.CallCase.SET_SPECTRA || call == StageCommand.CallCase.ESTIMATE_SPECTRA
                || call == StageCommand.CallCase.ADOPT_SPECTRA;
    }

    /** Refuses spectra no replica could use, saying what is wrong, before anything is published. */
    @Override
    public void check(StageCommand command) throws InvalidCommandException {
        switch (command.getCallCase()) {
            case SET_SPECTRA -> {
                SetSpectraRequest r = command.getSetSpectra();
                ReferenceSpectra spectra = spectraOf(r.getSpectra(), "SetSpectra");
                if (r.getNamesCount() > 0 && r.getNamesCount() != spectra.fluorophores()) {
                    throw new InvalidCommandException("SetSpectra has " + r.getNamesCount() + " names for "
                            + spectra.fluorophores() + " fluorophores (rows): give one name per row, or none");
                }
            }
            case ADOPT_SPECTRA -> adoptedSpectra(command.getAdoptSpectra());
            default -> {
            }
        }
    }

    /** AdoptSpectra by candidate id alone gets the candidate's spectra: the other replicas never saw it. */
    @Override
    public StageCommand resolve(StageCommand command) throws InvalidCommandException {
        if (command.getCallCase() != StageCommand.CallCase.ADOPT_SPECTRA || command.getAdoptSpectra().hasSpectra()) {
            return command;
        }
        ReferenceSpectra spectra = adoptedSpectra(command.getAdoptSpectra());
        return command.toBuilder().setAdoptSpectra(command.getAdoptSpectra().toBuilder()
                .setSpectra(toMessage(spectra))).build();
    }

    @Override
    public StageReply apply(StageCommand command, CommandContext context) throws InvalidCommandException {
        return switch (command.getCallCase()) {
            case SET_SPECTRA -> {
                SetSpectraRequest r = command.getSetSpectra();
                ReferenceSpectra spectra = spectraOf(r.getSpectra(), "SetSpectra");
                putInForce(spectra);
                names = List.copyOf(r.getNamesList());
                namesFingerprint = spectra.fingerprint();
                yield spectraReply(spectra, "spectra " + spectra.fingerprint() + " in force from the next frame"
                        + (names.isEmpty() ? "" : " (" + String.join(", ", names) + ")"));
            }
            case ADOPT_SPECTRA -> {
                // The published command carries the matrix (resolve), so every replica adopts the same.
                ReferenceSpectra spectra = spectraOf(command.getAdoptSpectra().getSpectra(), "AdoptSpectra");
                putInForce(spectra);
                yield spectraReply(spectra, "candidate " + command.getAdoptSpectra().getCandidateId()
                        + " adopted: spectra " + spectra.fingerprint() + " in force from the next frame");
            }
            case ESTIMATE_SPECTRA -> estimateReply(command.getEstimateSpectra());
            default -> throw new UnsupportedOperationException("unmix does not serve " + command.getCallCase());
        };
    }

    private StageReply estimateReply(EstimateSpectraRequest r) throws InvalidCommandException {
        String stream = r.getStreamId().isEmpty() ? "*" : r.getStreamId();
        int components = r.getComponents();
        if (components == 0) {
            double[][] rows = stageParameters().current().matrix("spectra");
            if (rows == null) {
                throw new InvalidCommandException("EstimateSpectra: no spectra in force to take the number of"
                        + " fluorophores from; set components");
            }
            components = rows[0].length;
        }
        SpectraProposal p;
        try {
            // frames: the newest n tiles (one per sampled raw frame) of each stream; 0: all kept.
            p = estimate(stream, components, r.getFrames() == 0 ? Integer.MAX_VALUE : (int) Math.min(r.getFrames(), Integer.MAX_VALUE));
        } catch (IllegalStateException | IllegalArgumentException e) {
            throw new InvalidCommandException("EstimateSpectra: " + e.getMessage(), e);
        }
        synchronized (candidates) {
            candidates.put(p.candidateId(), p.estimate().spectra());
        }
        SpectraEstimator.Estimate e = p.estimate();
        StageReply.Builder b = spectraReply(e.spectra(), String.format(Locale.ROOT,
                "candidate %s from %d raw tiles of %s (relative fit residual %.3g)%s; adopt it with AdoptSpectra",
                p.candidateId(), p.tiles(), "*".equals(stream) ? "all streams" : "stream " + stream, e.relativeResidual(),
                Double.isNaN(p.worstAngleToCurrent()) ? ""
                        : String.format(Locale.ROOT, ", %.1f deg from the spectra in force", p.worstAngleToCurrent())))
                .toBuilder()
                .putValues("candidate_id", text(p.candidateId()))
                .putValues("tiles", ParameterValue.newBuilder().setInteger(p.tiles()).build())
                .putValues("pixels", ParameterValue.newBuilder().setInteger(e.pixelsOffered()).build())
                .putValues("relative_residual", ParameterValue.newBuilder().setNumber(e.relativeResidual()).build());
        // The uniform level removed per channel (ADU): camera offset plus diffuse background.
        Matrix.Builder background = Matrix.newBuilder().setRows(1).setCols(e.background().length);
        for (double v : e.background()) {
            background.addValues(v);
        }
        b.putValues("background", ParameterValue.newBuilder().setMatrix(background).build());
        if (!Double.isNaN(p.worstAngleToCurrent())) {
            b.putValues("worst_angle_to_current_deg", ParameterValue.newBuilder().setNumber(p.worstAngleToCurrent()).build());
        }
        return b.build();
    }

    /** Sets the spectra parameter, exactly as SetParameters would (so the latest of either wins, also on replay). */
    private void putInForce(ReferenceSpectra spectra) throws InvalidCommandException {
        try {
            stageParameters().set(Map.of("spectra", spectra.toRows()));
        } catch (InvalidParameterException e) {
            throw new InvalidCommandException(e.getMessage(), e);
        }
    }

    /** AdoptSpectra's spectra: those sent (checked against the candidate id), else this replica's candidate. */
    private ReferenceSpectra adoptedSpectra(AdoptSpectraRequest r) throws InvalidCommandException {
        String id = r.getCandidateId();
        if (r.hasSpectra()) {
            ReferenceSpectra sent = spectraOf(r.getSpectra(), "AdoptSpectra");
            int at = id.lastIndexOf('@');
            if (at >= 0 && !id.substring(at + 1).equals(sent.fingerprint())) {
                throw new InvalidCommandException("AdoptSpectra: the spectra sent (fingerprint " + sent.fingerprint()
                        + ") are not those of candidate " + id + "; send the spectra EstimateSpectra returned with it");
            }
            return sent;
        }
        if (id.isEmpty()) {
            throw new InvalidCommandException("AdoptSpectra needs a candidate_id from EstimateSpectra (and, on another"
                    + " replica than the one that made it, the spectra it returned)");
        }
        ReferenceSpectra known;
        synchronized (candidates) {
            known = candidates.get(id);
        }
        if (known == null) {
            throw new InvalidCommandException("AdoptSpectra: candidate " + id + " is not known to this replica (" + "an"
                    + " estimate lives on the replica that made it, for its last " + MAX_CANDIDATES + " estimates);"
                    + " send the spectra EstimateSpectra returned with the candidate_id");
        }
        return known;
    }

    /**
     * Spectra of a control-call matrix: rows are fluorophores, columns detection channels (as in
     * control.proto), so its transpose is the {@code C × F} mixing matrix.
     */
    static ReferenceSpectra spectraOf(Matrix m, String call) throws InvalidCommandException {
        int f = m.getRows();
        int c = m.getCols();
        if (f == 0 || c == 0) {
            throw new InvalidCommandException(call + " needs spectra: a matrix with one row per fluorophore and one"
                    + " column per detection channel, got " + f + " x " + c);
        }
        if ((long) f * c != m.getValuesCount()) {
            throw new InvalidCommandException(call + ": a " + f + " x " + c + " matrix needs " + (long) f * c
                    + " values, got " + m.getValuesCount());
        }
        double[][] rows = new double[c][f];
        for (int i = 0; i < f; i++) {
            for (int j = 0; j < c; j++) {
                rows[j][i] = m.getValues(i * c + j);
            }
        }
        try {
            return ReferenceSpectra.of(rows);
        } catch (IllegalArgumentException e) {
            throw new InvalidCommandException(call + ": " + e.getMessage()
                    + " (the matrix is transposed here: rows = detection channels, columns = fluorophores)", e);
        }
    }

    /** The control-call form of spectra: rows are fluorophores, columns detection channels. */
    static Matrix toMessage(ReferenceSpectra spectra) {
        Matrix.Builder b = Matrix.newBuilder().setRows(spectra.fluorophores()).setCols(spectra.channels());
        for (int f = 0; f < spectra.fluorophores(); f++) {
            for (int c = 0; c < spectra.channels(); c++) {
                b.addValues(spectra.get(c, f));
            }
        }
        return b.build();
    }

    private static StageReply spectraReply(ReferenceSpectra spectra, String message) {
        return StageReply.newBuilder().setMessage(message).setSpectra(toMessage(spectra))
                .putValues("fingerprint", text(spectra.fingerprint()))
                .putValues("condition_number", ParameterValue.newBuilder().setNumber(spectra.conditionNumber()).build())
                .build();
    }

    private static ParameterValue text(String s) {
        return ParameterValue.newBuilder().setText(s).build();
    }

    private StageParameters stageParameters() {
        if (parameters == null) {
            if (runtime == null || !runtime.isResolvable()) {
                throw new IllegalStateException("the unmix kernel is not bound to a stage runtime");
            }
            parameters = runtime.get().parameters();
        }
        return parameters;
    }

    /** The configured name of the raw topic this stage taps. */
    private String rawTopic() {
        return runtime != null && runtime.isResolvable() ? runtime.get().tapTopic() : Topic.RAW.defaultName();
    }

    /** For tests that build the runtime by hand: the parameters control calls change. */
    void bind(StageParameters stageParameters) {
        this.parameters = stageParameters;
    }

    /**
     * Estimates {@code fluorophores} spectra from one stream's raw tiles, its newest {@code tiles}
     * ({@code "*"}: those of every stream with the spectra's channel count, pooled).
     *
     * @throws IllegalStateException if no tile has been sampled for the stream
     * @throws IllegalArgumentException if the tiles cannot support an estimate (the message says why)
     */
    SpectraProposal estimate(String streamId, int fluorophores, int tiles) {
        List<Image> sampled = pooledTiles(streamId, tiles);
        ReferenceSpectra current = spectraInUse;
        SpectraEstimator.Estimate estimate = new SpectraEstimator(SpectraEstimator.Settings.of(fluorophores)).estimate(sampled);
        double angle = current != null && current.channels() == estimate.spectra().channels()
                && current.fluorophores() == fluorophores
                ? SpectraEstimator.worstAngleDegrees(current, estimate.spectra(), null) : Double.NaN;
        String id = streamId + "@" + estimate.spectra().fingerprint();
        return new SpectraProposal(id, streamId, estimate, current, angle, sampled.size());
    }

    /** The newest {@code count} tiles of the stream, or of every stream of one channel count for "*". */
    private List<Image> pooledTiles(String streamId, int count) {
        List<Image> pooled = new ArrayList<>();
        synchronized (samples) {
            if ("*".equals(streamId)) {
                ReferenceSpectra current = spectraInUse;
                int channels = current != null ? current.channels() : 0;
                for (RawTiles tiles : samples.values()) {
                    if (tiles.size() > 0 && (channels == 0 || tiles.channels() == channels)) {
                        // Without spectra in force, the channel count of the first stream sampled decides.
                        channels = tiles.channels();
                        pooled.addAll(tiles.newest(count));
                    }
                }
            } else {
                RawTiles tiles = samples.get(streamId);
                if (tiles != null) {
                    pooled.addAll(tiles.newest(count));
                }
            }
        }
        if (pooled.isEmpty()) {
            throw new IllegalStateException("no tiles of raw frames sampled " + ("*".equals(streamId) ? "from any stream"
                    : "from stream '" + streamId + "'") + " on this replica; the unmix stage samples the camera's frames"
                    + " on " + rawTopic() + " (it must be able to read that topic) while sample_tiles > 0:"
                    + " let the stream's raw frames through first, then ask again");
        }
        return pooled;
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
        if (deviceUnmixer != null) {
            deviceUnmixer.close();
        }
        learned.close();
    }
}
