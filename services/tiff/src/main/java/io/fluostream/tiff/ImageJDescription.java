package io.fluostream.tiff;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ImageDescription ImageJ and Fiji write into a stack ("ImageJ=1.54f\nimages=6\nchannels=2\n
 * frames=3\nhyperstack=true\nunit=micron\nfinterval=2.0\n..."): pages in C, Z, T order (channel
 * fastest); pixel size is 1/XResolution in {@code unit}.
 */
final class ImageJDescription {

    private final Map<String, String> values;
    private final int channels;
    private final int slices;
    private final int frames;

    private ImageJDescription(Map<String, String> values, int channels, int slices, int frames) {
        this.values = values;
        this.channels = channels;
        this.slices = slices;
        this.frames = frames;
    }

    static boolean matches(String description) {
        return description != null && description.startsWith("ImageJ=");
    }

    static ImageJDescription parse(String description, int pages, String fileName) throws TiffFormatException {
        Map<String, String> v = new HashMap<>();
        for (String line : description.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                v.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
            }
        }
        int images = count(v, "images", pages, fileName);
        int c = count(v, "channels", 1, fileName);
        int z = count(v, "slices", 1, fileName);
        int t = count(v, "frames", 1, fileName);
        if (c == 1 && z == 1 && t == 1) {
            t = images; // a plain ImageJ stack: pages are time points
        }
        if ((long) c * z * t != images) {
            throw new TiffFormatException(fileName + ": ImageJ metadata says " + images + " images but channels x slices x frames = "
                    + c + " x " + z + " x " + t + "; the file's metadata is inconsistent");
        }
        if (images != pages) {
            if (pages == 1 && images > 1) {
                throw new TiffFormatException(fileName + " is an ImageJ stack stored as one contiguous block with a single "
                        + "TIFF page (ImageJ does this above 4 GiB); save it as OME-TIFF (Fiji: File > Save As > OME-TIFF, "
                        + "Bio-Formats) and replay that");
            }
            throw new TiffFormatException(fileName + ": ImageJ metadata says " + images + " images but the file has "
                    + pages + " pages: the file is truncated or damaged");
        }
        return new ImageJDescription(v, c, z, t);
    }

    private static int count(Map<String, String> v, String key, int otherwise, String fileName) throws TiffFormatException {
        String s = v.get(key);
        if (s == null) {
            return otherwise;
        }
        try {
            int n = Integer.parseInt(s);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new TiffFormatException(fileName + ": ImageJ metadata " + key + "=" + s + " is not a positive whole number");
    }

    int channels() {
        return channels;
    }

    int slices() {
        return slices;
    }

    int frames() {
        return frames;
    }

    StackMetadata metadata(IfdFields firstPage) {
        double pixelSize = 0;
        double perUnit = firstPage.rational(IfdFields.X_RESOLUTION);
        double unit = Units.lengthFactorUm(values.getOrDefault("unit", ""));
        if (perUnit > 0 && Double.isFinite(perUnit) && Double.isFinite(unit)) {
            pixelSize = unit / perUnit;
        }
        double interval = 0;
        double tunit = Units.timeFactorS(values.getOrDefault("tunit", "s"));
        try {
            interval = Double.parseDouble(values.getOrDefault("finterval", "0")) * tunit;
        } catch (NumberFormatException e) {
            interval = 0;
        }
        List<ChannelInfo> chans = new ArrayList<>();
        for (int c = 0; c < channels; c++) {
            chans.add(ChannelInfo.named(""));
        }
        Map<String, String> extra = new LinkedHashMap<>();
        extra.put("tiff.format", "imagej");
        return new StackMetadata(Double.isFinite(pixelSize) ? pixelSize : 0, Double.isFinite(interval) && interval > 0 ? interval : 0,
                0, chans, extra);
    }
}
