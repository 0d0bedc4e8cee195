package io.fluostream.tiff;

import java.util.HashMap;
import java.util.Map;
import javax.imageio.metadata.IIOMetadata;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * The tags of one TIFF page, read from the reader's native metadata tree
 * ({@code com_sun_media_imageio_plugins_tiff_image_1.0}: TIFFIFD / TIFFField number=… / values).
 */
final class IfdFields {

    static final int IMAGE_WIDTH = 256;
    static final int IMAGE_LENGTH = 257;
    static final int BITS_PER_SAMPLE = 258;
    static final int COMPRESSION = 259;
    static final int FILL_ORDER = 266;
    static final int IMAGE_DESCRIPTION = 270;
    static final int STRIP_OFFSETS = 273;
    static final int SAMPLES_PER_PIXEL = 277;
    static final int ROWS_PER_STRIP = 278;
    static final int STRIP_BYTE_COUNTS = 279;
    static final int X_RESOLUTION = 282;
    static final int RESOLUTION_UNIT = 296;
    static final int TILE_WIDTH = 322;
    static final int TILE_LENGTH = 323;
    static final int TILE_OFFSETS = 324;
    static final int TILE_BYTE_COUNTS = 325;
    static final int SAMPLE_FORMAT = 339;

    private final Map<Integer, long[]> numbers = new HashMap<>();
    private final Map<Integer, double[]> rationals = new HashMap<>();
    private final Map<Integer, String> texts = new HashMap<>();

    static IfdFields of(IIOMetadata metadata) {
        IfdFields f = new IfdFields();
        Node root = metadata.getAsTree(metadata.getNativeMetadataFormatName());
        for (Node ifd = root.getFirstChild(); ifd != null; ifd = ifd.getNextSibling()) {
            if (!"TIFFIFD".equals(ifd.getNodeName())) {
                continue;
            }
            for (Node field = ifd.getFirstChild(); field != null; field = field.getNextSibling()) {
                if ("TIFFField".equals(field.getNodeName())) {
                    f.add((Element) field);
                }
            }
        }
        return f;
    }

    private void add(Element field) {
        int tag;
        try {
            tag = Integer.parseInt(field.getAttribute("number"));
        } catch (NumberFormatException e) {
            return;
        }
        Node values = field.getFirstChild();
        if (values == null) {
            return;
        }
        int n = values.getChildNodes().getLength();
        if ("TIFFAsciis".equals(values.getNodeName())) {
            if (n > 0) {
                texts.put(tag, ((Element) values.getFirstChild()).getAttribute("value"));
            }
            return;
        }
        if ("TIFFRationals".equals(values.getNodeName()) || "TIFFSRationals".equals(values.getNodeName())) {
            double[] r = new double[n];
            int i = 0;
            for (Node v = values.getFirstChild(); v != null; v = v.getNextSibling()) {
                String s = ((Element) v).getAttribute("value");
                int slash = s.indexOf('/');
                try {
                    r[i++] = slash < 0 ? Double.parseDouble(s)
                            : Double.parseDouble(s.substring(0, slash)) / Double.parseDouble(s.substring(slash + 1));
                } catch (NumberFormatException e) {
                    r[i - 1] = Double.NaN;
                }
            }
            rationals.put(tag, r);
            return;
        }
        long[] l = new long[n];
        int i = 0;
        for (Node v = values.getFirstChild(); v != null; v = v.getNextSibling()) {
            try {
                l[i++] = Long.parseLong(((Element) v).getAttribute("value"));
            } catch (NumberFormatException e) {
                return; // not an integer field; nothing here needs it
            }
        }
        numbers.put(tag, l);
    }

    /** The first value of an integer tag, or {@code otherwise} when absent. */
    long number(int tag, long otherwise) {
        long[] v = numbers.get(tag);
        return v == null || v.length == 0 ? otherwise : v[0];
    }

    long[] numbers(int tag) {
        return numbers.get(tag);
    }

    /** The first value of a rational tag, or NaN. */
    double rational(int tag) {
        double[] v = rationals.get(tag);
        return v == null || v.length == 0 ? Double.NaN : v[0];
    }

    String text(int tag) {
        return texts.get(tag);
    }
}
