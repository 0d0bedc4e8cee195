package io.fluostream.cli.tiff;

import io.fluostream.frames.FrameImages;
import io.fluostream.frames.FrameRejected;
import io.fluostream.imaging.Image;
import io.fluostream.proto.Acquisition;
import io.fluostream.proto.Frame;
import io.fluostream.proto.PixelType;
import io.fluostream.proto.Plane;
import io.fluostream.proto.Provenance;
import io.fluostream.tiff.ChannelInfo;
import io.fluostream.tiff.OmeImage;
import io.fluostream.tiff.OmeTiffWriter;
import io.fluostream.tiff.SampleType;
import io.fluostream.tiff.StackMetadata;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Writes one stream's frames (any stage's output) as an OME-TIFF time series and a CSV of per-frame
 * figures and provenance. Frames go in sequence order; each frame's auxiliary planes (e.g.
 * {@code unmix.residual}, {@code flow.confidence}) become extra channels named after the plane.
 * Everything written is a function of the frames alone — no export time, no random ids — so
 * exporting the same frames again gives the same bytes.
 *
 * <p>Sample type: float32 for reconstructions (and whenever planes are added, since planes are
 * float32); uint16 and uint8 frames without planes keep their type.
 */
public final class TiffExport {

    /** Software named in the OME-XML; no version, so files from different builds compare equal. */
    static final String CREATOR = "FluoStream export";

    /** What was written. */
    public record Result(Path tiff, Path csv, int frames, List<String> channels, SampleType type,
                         long firstSequence, long lastSequence, int missingPlanes) {
    }

    /** One auxiliary plane kind: its name and channel count. */
    private record PlaneKind(String name, int channels) {
    }

    private TiffExport() {
    }

    /** {@code out.ome.tif} → {@code out.csv}; {@code out.tif} → {@code out.csv}. */
    public static Path csvPath(Path tiff) {
        String name = tiff.getFileName().toString();
        String base = name.replaceFirst("(?i)(\\.ome)?\\.tiff?$", "");
        return tiff.resolveSibling((base.isEmpty() ? name : base) + ".csv");
    }

    /**
     * @param frames frames of one stream by sequence number (at least one)
     * @throws ExportException when the frames cannot form one series (their size changes)
     */
    public static Result write(String streamId, String topic, SortedMap<Long, Frame> frames, Path output)
            throws IOException, ExportException {
        if (frames.isEmpty()) {
            throw new ExportException("no frames to export");
        }
        Frame first = frames.get(frames.firstKey());
        int c = first.getShape().getChannels();
        int h = first.getShape().getHeight();
        int w = first.getShape().getWidth();
        Map<String, PlaneKind> planeKinds = new LinkedHashMap<>();
        boolean mixedTypes = false;
        for (Frame f : frames.values()) {
            if (f.getShape().getChannels() != c || f.getShape().getHeight() != h || f.getShape().getWidth() != w) {
                throw new ExportException(String.format("frame %d of stream %s is %d x %d x %d (channels x height x width) but "
                                + "frame %d is %d x %d x %d; one OME-TIFF holds one shape: export up to the change with "
                                + "--frames %d", f.getSequence(), streamId, f.getShape().getChannels(), f.getShape().getHeight(),
                        f.getShape().getWidth(), first.getSequence(), c, h, w, frames.headMap(f.getSequence()).size()));
            }
            mixedTypes |= f.getPixelType() != first.getPixelType();
            for (Plane p : f.getPlanesList()) {
                PlaneKind known = planeKinds.putIfAbsent(p.getName(), new PlaneKind(p.getName(), p.getChannels()));
                if (known != null && known.channels() != p.getChannels()) {
                    throw new ExportException("plane '" + p.getName() + "' has " + p.getChannels() + " channels in frame "
                            + f.getSequence() + " but " + known.channels() + " in an earlier frame");
                }
            }
        }
        SampleType type = sampleType(first.getPixelType(), mixedTypes || !planeKinds.isEmpty());
        List<String> mainNames = mainChannelNames(first, c);
        List<ChannelInfo> channels = new ArrayList<>();
        Acquisition acq = first.getAcquisition();
        boolean detection = acq.getChannelsCount() == c;
        for (int i = 0; i < c; i++) {
            boolean sameName = detection && acq.getChannels(i).getName().equals(mainNames.get(i));
            channels.add(sameName ? new ChannelInfo(mainNames.get(i), acq.getChannels(i).getExcitationNm(),
                    acq.getChannels(i).getEmissionNm()) : ChannelInfo.named(mainNames.get(i)));
        }
        for (PlaneKind p : planeKinds.values()) {
            for (int k = 0; k < p.channels(); k++) {
                channels.add(ChannelInfo.named(p.channels() == 1 ? p.name() : p.name() + "[" + k + "]"));
            }
        }
        double[] deltaT = new double[frames.size()];
        int t = 0;
        for (Frame f : frames.values()) {
            deltaT[t++] = (f.getAcquiredAtUs() - first.getAcquiredAtUs()) / 1e6;
        }
        StackMetadata metadata = new StackMetadata(acq.getPixelSizeUm(), acq.getFrameIntervalS(), acq.getExposureMs(),
                channels, Map.of());
        OmeImage image = new OmeImage(CREATOR, streamId, channels.size(), frames.size(), h, w, type, metadata, deltaT,
                annotations(streamId, topic, frames, mainNames, planeKinds.values()));

        int missing = 0;
        try (OmeTiffWriter writer = OmeTiffWriter.create(output, image)) {
            for (Frame f : frames.values()) {
                writePlanes(writer, type, decode(f, null), 0, c);
                for (PlaneKind p : planeKinds.values()) {
                    Image plane = decode(f, p.name());
                    if (plane == null) {
                        // A frame without this plane: NaN marks "not computed", distinct from any value.
                        plane = new Image(p.channels(), h, w);
                        Arrays.fill(plane.data(), Float.NaN);
                        missing++;
                    }
                    writePlanes(writer, type, plane, 0, p.channels());
                }
            }
            writer.finish();
        }
        Path csv = csvPath(output);
        writeCsv(frames, csv);
        List<String> names = channels.stream().map(ChannelInfo::name).toList();
        return new Result(output, csv, frames.size(), names, type, frames.firstKey(), frames.lastKey(), missing);
    }

    private static SampleType sampleType(PixelType first, boolean needsFloat) {
        if (needsFloat || first == PixelType.FLOAT32) {
            return SampleType.FLOAT32;
        }
        return first == PixelType.UINT8 ? SampleType.UINT8 : SampleType.UINT16;
    }

    private static List<String> mainChannelNames(Frame f, int c) {
        List<String> names = f.getChannelNamesList();
        if (names.size() == c && names.stream().noneMatch(String::isEmpty)) {
            return names;
        }
        Acquisition acq = f.getAcquisition();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < c; i++) {
            String a = acq.getChannelsCount() == c ? acq.getChannels(i).getName() : "";
            out.add(a.isEmpty() ? "ch" + i : a);
        }
        return out;
    }

    private static Map<String, String> annotations(String streamId, String topic, SortedMap<Long, Frame> frames,
                                                   List<String> mainNames, java.util.Collection<PlaneKind> planes) {
        Map<String, String> a = new TreeMap<>();
        a.put("fluostream.stream", streamId);
        a.put("fluostream.topic", topic);
        long first = frames.firstKey();
        long last = frames.lastKey();
        a.put("fluostream.sequences", first + ".." + last + " (" + frames.size() + " frames, "
                + (last - first + 1 - frames.size()) + " missing)");
        a.put("fluostream.time_points", "time point t holds the t-th frame in sequence order; the CSV beside this file "
                + "lists each frame's sequence number, figures and provenance");
        if (mainNames.equals(List.of("u", "v"))) {
            a.put("fluostream.channel.u", "optical flow, x (column) component, px/frame: content at p in frame t-1 moves to p+(u,v) in frame t (on frame t-1's grid)");
            a.put("fluostream.channel.v", "optical flow, y (row) component, px/frame");
        }
        for (PlaneKind p : planes) {
            a.put("fluostream.channel." + p.name(), "auxiliary plane '" + p.name() + "' of each frame ("
                    + p.channels() + " channel" + (p.channels() == 1 ? "" : "s") + "); NaN where a frame lacks it");
        }
        return a;
    }

    private static Image decode(Frame f, String plane) throws ExportException {
        try {
            return plane == null ? FrameImages.image(f) : FrameImages.plane(f, plane).orElse(null);
        } catch (FrameRejected e) {
            throw new ExportException("frame " + f.getSequence() + (plane == null ? "" : " plane '" + plane + "'")
                    + " cannot be decoded: " + e.getMessage(), e);
        }
    }

    private static void writePlanes(OmeTiffWriter writer, SampleType type, Image image, int from, int count)
            throws IOException {
        int n = image.planeSize();
        for (int c = from; c < from + count; c++) {
            int offset = image.planeOffset(c);
            switch (type) {
                case FLOAT32 -> writer.writePlane(image.data(), offset);
                case UINT16 -> {
                    short[] s = new short[n];
                    for (int i = 0; i < n; i++) {
                        s[i] = (short) (int) image.data()[offset + i]; // exact: decoded from uint16
                    }
                    writer.writePlane(s, 0);
                }
                case UINT8 -> {
                    byte[] b = new byte[n];
                    for (int i = 0; i < n; i++) {
                        b[i] = (byte) (int) image.data()[offset + i];
                    }
                    writer.writePlane(b, 0);
                }
            }
        }
    }

    /**
     * One row per frame: sequence, acquisition time (µs since the epoch, and seconds since the first
     * frame), every figure any frame carries (columns sorted by name; empty where a frame lacks it),
     * then per stage in pipeline order: method/model version, software version, parameter hash,
     * note and processing time.
     */
    static void writeCsv(SortedMap<Long, Frame> frames, Path csv) throws IOException {
        Set<String> figures = new TreeSet<>();
        Set<String> stages = new LinkedHashSet<>();
        for (Frame f : frames.values()) {
            figures.addAll(f.getFiguresMap().keySet());
            for (Provenance p : f.getProvenanceList()) {
                stages.add(p.getStage());
            }
        }
        List<String> header = new ArrayList<>(List.of("sequence", "acquired_at_us", "time_s"));
        header.addAll(figures);
        for (String s : stages) {
            for (String field : List.of("method", "version", "parameter_hash", "note", "processing_ms")) {
                header.add("provenance." + s + "." + field);
            }
        }
        Path temp = OmeTiffWriter.partFile(csv);
        try {
            try (Writer out = Files.newBufferedWriter(temp, StandardCharsets.UTF_8)) {
                row(out, header);
                long t0 = frames.get(frames.firstKey()).getAcquiredAtUs();
                for (Frame f : frames.values()) {
                    List<String> cells = new ArrayList<>(header.size());
                    cells.add(Long.toUnsignedString(f.getSequence()));
                    cells.add(Long.toString(f.getAcquiredAtUs()));
                    cells.add(Double.toString((f.getAcquiredAtUs() - t0) / 1e6));
                    for (String k : figures) {
                        Double v = f.getFiguresMap().get(k);
                        cells.add(v == null ? "" : Double.toString(v));
                    }
                    Map<String, Provenance> byStage = new LinkedHashMap<>();
                    for (Provenance p : f.getProvenanceList()) {
                        byStage.put(p.getStage(), p);
                    }
                    for (String s : stages) {
                        Provenance p = byStage.get(s);
                        if (p == null) {
                            cells.addAll(List.of("", "", "", "", ""));
                        } else {
                            cells.addAll(List.of(p.getMethod(), p.getVersion(), p.getParameterHash(), p.getNote(),
                                    Double.toString(p.getProcessingMs())));
                        }
                    }
                    row(out, cells);
                }
            }
            Files.move(temp, csv, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private static void row(Writer out, List<String> cells) throws IOException {
        for (int i = 0; i < cells.size(); i++) {
            if (i > 0) {
                out.write(',');
            }
            String s = cells.get(i);
            if (s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0) {
                out.write('"');
                out.write(s.replace("\"", "\"\""));
                out.write('"');
            } else {
                out.write(s);
            }
        }
        out.write('\n');
    }
}
