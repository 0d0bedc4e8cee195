package io.fluostream.stage;

import io.fluostream.imaging.Image;
import io.fluostream.proto.PixelType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a stage made of a frame: new pixels (float32 by default), channel names, per-frame figures,
 * auxiliary planes and a note on how. Everything else (stream id, sequence, acquisition metadata,
 * earlier provenance and figures) is carried over from the input by {@link FrameProcessor}.
 */
public final class StageOutput {

    private final Image pixels;
    private PixelType pixelType = PixelType.FLOAT32;
    private final List<String> channelNames = new ArrayList<>();
    private final Map<String, Double> figures = new LinkedHashMap<>();
    private final Map<String, Image> planes = new LinkedHashMap<>();
    private String method = "";
    private String note = "";
    private boolean keepPlanes;

    private StageOutput(Image pixels) {
        this.pixels = pixels;
    }

    public static StageOutput of(Image pixels) {
        return new StageOutput(pixels);
    }

    public StageOutput pixelType(PixelType type) {
        this.pixelType = type;
        return this;
    }

    public StageOutput channelNames(List<String> names) {
        channelNames.clear();
        channelNames.addAll(names);
        return this;
    }

    /** A per-frame figure; stored in the frame as {@code "<stage>.<name>"}. */
    public StageOutput figure(String name, double value) {
        figures.put(name, value);
        return this;
    }

    /** An auxiliary plane of the frame's height and width; stored as {@code "<stage>.<name>"}. */
    public StageOutput plane(String name, Image plane) {
        planes.put(name, plane);
        return this;
    }

    /** The algorithm or model version that made the output, for provenance. */
    public StageOutput method(String method) {
        this.method = method;
        return this;
    }

    public StageOutput note(String note) {
        this.note = note;
        return this;
    }

    /**
     * Keep the input's auxiliary planes (a pass-through that does not change the pixel grid). By
     * default planes are dropped because the stage's new pixels no longer match them.
     */
    public StageOutput keepInputPlanes() {
        this.keepPlanes = true;
        return this;
    }

    public Image pixels() {
        return pixels;
    }

    public PixelType pixelType() {
        return pixelType;
    }

    public List<String> channelNames() {
        return channelNames;
    }

    public Map<String, Double> figures() {
        return figures;
    }

    public Map<String, Image> planes() {
        return planes;
    }

    public String method() {
        return method;
    }

    public String note() {
        return note;
    }

    public boolean keepsInputPlanes() {
        return keepPlanes;
    }
}
