package io.fluostream.tiff;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.InputSource;

/**
 * OME-XML, the metadata of an OME-TIFF (schema 2016-06), kept in the first page's ImageDescription.
 * Reads one Image (series): its dimensions and DimensionOrder, which page holds which plane
 * (TiffData), pixel size, time increment, channel names and wavelengths. Writes the description of
 * a single-file time series, ASCII only and byte-for-byte reproducible.
 */
public final class OmeXml {

    static final String NAMESPACE = "http://www.openmicroscopy.org/Schemas/OME/2016-06";

    private OmeXml() {
    }

    /** One Image of an OME-XML document, mapped onto the pages of its file. */
    record Parsed(StackLayout layout, StackMetadata metadata, int seriesCount) {
    }

    static boolean looksLikeOme(String description) {
        return description != null && description.contains("<OME");
    }

    /**
     * @param pages    number of pages in the file
     * @param fileName the file's own name, to tell its planes from those of a multi-file set
     */
    static Parsed parse(String xml, int series, int pages, int pageHeight, int pageWidth, SampleType pageType,
                        String fileName) throws TiffFormatException {
        Element root = document(xml).getDocumentElement();
        List<Element> images = children(root, "Image");
        if (images.isEmpty()) {
            throw new TiffFormatException("the OME-XML in the first page describes no Image; the file's OME metadata is incomplete");
        }
        if (series < 0 || series >= images.size()) {
            throw new TiffFormatException("series " + series + " asked for, but the file holds " + images.size()
                    + " series (0.." + (images.size() - 1) + ")");
        }
        Element image = images.get(series);
        Element pixels = child(image, "Pixels");
        if (pixels == null) {
            throw new TiffFormatException("OME Image " + series + " has no Pixels element");
        }
        String order = pixels.getAttribute("DimensionOrder");
        if (!PlaneOrder.valid(order)) {
            throw new TiffFormatException("OME DimensionOrder '" + order + "' is not one of XYZCT, XYZTC, XYCZT, XYCTZ, XYTCZ, XYTZC");
        }
        String typeName = pixels.getAttribute("Type");
        SampleType type = SampleType.fromOme(typeName);
        if (type == null) {
            throw new TiffFormatException("OME pixel type '" + typeName + "' is not supported: FluoStream takes uint8, uint16 "
                    + "and float (32-bit); convert the file (Fiji: Image > Type > 16-bit or 32-bit) and save it again");
        }
        if (type != pageType) {
            throw new TiffFormatException("OME metadata says pixel type " + typeName + " but the TIFF pages hold "
                    + pageType.omeName() + "; the file is inconsistent");
        }
        int sizeX = positive(pixels, "SizeX");
        int sizeY = positive(pixels, "SizeY");
        int sizeC = positive(pixels, "SizeC");
        int sizeZ = positive(pixels, "SizeZ");
        int sizeT = positive(pixels, "SizeT");
        if (sizeX != pageWidth || sizeY != pageHeight) {
            throw new TiffFormatException("OME metadata says " + sizeX + " x " + sizeY + " px but the pages are "
                    + pageWidth + " x " + pageHeight + "; the file is inconsistent");
        }
        List<Element> channels = children(pixels, "Channel");
        for (Element ch : channels) {
            String spp = ch.getAttribute("SamplesPerPixel");
            if (!spp.isEmpty() && !"1".equals(spp)) {
                throw new TiffFormatException("OME channel '" + ch.getAttribute("Name") + "' has " + spp
                        + " samples per pixel (RGB): FluoStream takes one sample per channel; split the channels "
                        + "(Fiji: Image > Color > Split Channels) and merge them as a multi-channel stack");
            }
        }
        int planes = Math.multiplyExact(Math.multiplyExact(sizeC, sizeZ), sizeT);
        int[] pageOf = new int[planes];
        Arrays.fill(pageOf, -1);
        List<Element> tiffData = children(pixels, "TiffData");
        if (tiffData.isEmpty()) {
            if (child(pixels, "BinData") != null) {
                throw new TiffFormatException("OME Image " + series + " keeps its pixels in the XML (BinData), not in TIFF pages");
            }
            int first = 0;
            for (int s = 0; s < series; s++) {
                Element p = child(images.get(s), "Pixels");
                first += p == null ? 0 : positive(p, "SizeC") * positive(p, "SizeZ") * positive(p, "SizeT");
            }
            for (int i = 0; i < planes; i++) {
                pageOf[i] = first + i;
            }
        } else {
            String ownUuid = root.getAttribute("UUID");
            for (Element td : tiffData) {
                checkSameFile(td, ownUuid, fileName);
                boolean hasIfd = td.hasAttribute("IFD");
                int ifd = nonNegative(td, "IFD", 0);
                int count = nonNegative(td, "PlaneCount", hasIfd ? 1 : pages - ifd);
                int start = PlaneOrder.index(order, nonNegative(td, "FirstT", 0), nonNegative(td, "FirstC", 0),
                        nonNegative(td, "FirstZ", 0), sizeT, sizeC, sizeZ);
                count = Math.min(count, planes - start);
                for (int k = 0; k < count; k++) {
                    pageOf[start + k] = ifd + k;
                }
            }
        }
        int[] pagesTzc = new int[planes];
        int[] tcz = new int[3];
        for (int i = 0; i < planes; i++) {
            if (pageOf[i] < 0) {
                throw new TiffFormatException("OME metadata maps only some of the " + planes + " planes (" + sizeT + " T x "
                        + sizeC + " C x " + sizeZ + " Z) to pages; plane " + i + " has none");
            }
            if (pageOf[i] >= pages) {
                throw new TiffFormatException("OME metadata puts a plane on page " + pageOf[i] + " but the file has only "
                        + pages + " pages: it is truncated, or part of a multi-file set");
            }
            PlaneOrder.position(order, i, sizeT, sizeC, sizeZ, tcz);
            pagesTzc[(tcz[0] * sizeZ + tcz[2]) * sizeC + tcz[1]] = pageOf[i];
        }
        StackLayout layout = new StackLayout(sizeT, sizeC, sizeZ, sizeY, sizeX, type, pagesTzc);
        return new Parsed(layout, metadata(image, pixels, channels, sizeC, order), images.size());
    }

    private static StackMetadata metadata(Element image, Element pixels, List<Element> channels, int sizeC, String order) {
        double pixelSize = number(pixels, "PhysicalSizeX") * Units.lengthFactorUm(unit(pixels, "PhysicalSizeXUnit", "µm"));
        double interval = number(pixels, "TimeIncrement") * Units.timeFactorS(unit(pixels, "TimeIncrementUnit", "s"));
        List<ChannelInfo> infos = new ArrayList<>();
        for (int c = 0; c < sizeC; c++) {
            if (c < channels.size()) {
                Element ch = channels.get(c);
                infos.add(new ChannelInfo(ch.getAttribute("Name"),
                        wavelengthNm(ch, "ExcitationWavelength"), wavelengthNm(ch, "EmissionWavelength")));
            } else {
                infos.add(ChannelInfo.named(""));
            }
        }
        double exposureMs = 0;
        Element plane = child(pixels, "Plane");
        if (plane != null) {
            exposureMs = number(plane, "ExposureTime") * Units.timeFactorS(unit(plane, "ExposureTimeUnit", "s")) * 1000;
        }
        Map<String, String> extra = new LinkedHashMap<>();
        extra.put("tiff.format", "ome-tiff");
        extra.put("ome.dimension_order", order);
        if (!image.getAttribute("Name").isEmpty()) {
            extra.put("ome.image_name", image.getAttribute("Name"));
        }
        Element date = child(image, "AcquisitionDate");
        if (date != null && !date.getTextContent().isBlank()) {
            extra.put("ome.acquisition_date", date.getTextContent().trim());
        }
        return new StackMetadata(finiteOrZero(pixelSize), finiteOrZero(interval), finiteOrZero(exposureMs), infos, extra);
    }

    private static void checkSameFile(Element tiffData, String ownUuid, String fileName) throws TiffFormatException {
        Element uuid = child(tiffData, "UUID");
        if (uuid == null) {
            return;
        }
        String id = uuid.getTextContent().trim();
        String file = uuid.getAttribute("FileName");
        boolean same = id.isEmpty() || id.equals(ownUuid) || file.isEmpty() || file.equals(fileName);
        if (!same) {
            throw new TiffFormatException("this OME-TIFF is part of a multi-file set: some planes live in '" + file
                    + "'. Replay takes single-file OME-TIFF; combine the set first (e.g. Fiji/Bio-Formats: open the "
                    + "set and save it as one OME-TIFF)");
        }
    }

    private static double wavelengthNm(Element e, String attribute) {
        double v = number(e, attribute);
        if (!(v > 0)) {
            return 0;
        }
        double factor = Units.lengthFactorUm(unit(e, attribute + "Unit", "nm"));
        return finiteOrZero(v * factor * 1000);
    }

    private static String unit(Element e, String attribute, String otherwise) {
        String u = e.getAttribute(attribute);
        return u.isEmpty() ? otherwise : u;
    }

    private static double number(Element e, String attribute) {
        String v = e.getAttribute(attribute);
        if (v.isEmpty()) {
            return 0;
        }
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException ex) {
            return 0;
        }
    }

    private static double finiteOrZero(double v) {
        return Double.isFinite(v) && v > 0 ? v : 0;
    }

    private static int positive(Element e, String attribute) throws TiffFormatException {
        String v = e.getAttribute(attribute);
        try {
            int n = Integer.parseInt(v);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException ex) {
            // reported below
        }
        throw new TiffFormatException("OME Pixels " + attribute + "='" + v + "' is not a positive whole number");
    }

    private static int nonNegative(Element e, String attribute, int otherwise) throws TiffFormatException {
        if (!e.hasAttribute(attribute)) {
            return otherwise;
        }
        String v = e.getAttribute(attribute);
        try {
            int n = Integer.parseInt(v);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException ex) {
            // reported below
        }
        throw new TiffFormatException("OME TiffData " + attribute + "='" + v + "' is not a whole number >= 0");
    }

    private static Document document(String xml) throws TiffFormatException {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            // The XML comes from a file the user hands us: no external entities, no DTDs.
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setExpandEntityReferences(false);
            DocumentBuilder b = f.newDocumentBuilder();
            b.setErrorHandler(null);
            return b.parse(new InputSource(new StringReader(xml)));
        } catch (Exception e) {
            throw new TiffFormatException("the OME-XML in the first page cannot be parsed (" + e.getMessage()
                    + "); the file's metadata is damaged", e);
        }
    }

    private static List<Element> children(Element parent, String localName) {
        List<Element> out = new ArrayList<>();
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && localName.equals(localName(e))) {
                out.add(e);
            }
        }
        return out;
    }

    private static Element child(Element parent, String localName) {
        List<Element> c = children(parent, localName);
        return c.isEmpty() ? null : c.get(0);
    }

    private static String localName(Element e) {
        return e.getLocalName() != null ? e.getLocalName() : e.getNodeName();
    }

    // ---------------------------------------------------------------- writing

    /**
     * The OME-XML of a single-file time series written plane by plane in XYCZT order: pages 0..C·T−1,
     * channel fastest. Attributes and annotations are in a fixed order, numbers in
     * {@link Double#toString} form, non-ASCII as character references (TIFF text is ASCII).
     */
    public static String write(OmeImage image, boolean bigEndian) {
        StringBuilder x = new StringBuilder(1024);
        x.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        x.append("<OME xmlns=\"").append(NAMESPACE).append("\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"")
                .append(" xsi:schemaLocation=\"").append(NAMESPACE).append(' ').append(NAMESPACE).append("/ome.xsd\"");
        attr(x, "Creator", image.creator());
        x.append('>');
        x.append("<Image ID=\"Image:0\"");
        attr(x, "Name", image.name());
        x.append('>');
        x.append("<Pixels ID=\"Pixels:0\" DimensionOrder=\"XYCZT\"");
        attr(x, "Type", image.type().omeName());
        attr(x, "SizeX", Integer.toString(image.width()));
        attr(x, "SizeY", Integer.toString(image.height()));
        attr(x, "SizeZ", "1");
        attr(x, "SizeC", Integer.toString(image.sizeC()));
        attr(x, "SizeT", Integer.toString(image.sizeT()));
        StackMetadata m = image.metadata();
        if (m.pixelSizeUm() > 0) {
            // Unit µm is the schema default, which keeps the text ASCII.
            attr(x, "PhysicalSizeX", number(m.pixelSizeUm()));
            attr(x, "PhysicalSizeY", number(m.pixelSizeUm()));
        }
        if (m.frameIntervalS() > 0) {
            attr(x, "TimeIncrement", number(m.frameIntervalS()));
        }
        attr(x, "BigEndian", Boolean.toString(bigEndian));
        attr(x, "Interleaved", "false");
        attr(x, "SignificantBits", Integer.toString(image.type().bytes() * 8));
        x.append('>');
        for (int c = 0; c < image.sizeC(); c++) {
            ChannelInfo ch = c < m.channels().size() ? m.channels().get(c) : ChannelInfo.named("");
            x.append("<Channel ID=\"Channel:0:").append(c).append('"');
            if (!ch.name().isEmpty()) {
                attr(x, "Name", ch.name());
            }
            attr(x, "SamplesPerPixel", "1");
            if (ch.excitationNm() > 0) {
                attr(x, "ExcitationWavelength", number(ch.excitationNm()));
            }
            if (ch.emissionNm() > 0) {
                attr(x, "EmissionWavelength", number(ch.emissionNm()));
            }
            x.append("/>");
        }
        x.append("<TiffData IFD=\"0\" PlaneCount=\"").append(image.sizeC() * image.sizeT()).append("\"/>");
        double[] deltaT = image.deltaTSeconds();
        if (deltaT != null) {
            for (int t = 0; t < image.sizeT(); t++) {
                for (int c = 0; c < image.sizeC(); c++) {
                    x.append("<Plane TheZ=\"0\" TheC=\"").append(c).append("\" TheT=\"").append(t).append('"');
                    attr(x, "DeltaT", number(deltaT[t]));
                    attr(x, "DeltaTUnit", "s");
                    x.append("/>");
                }
            }
        }
        x.append("</Pixels>");
        boolean annotated = !image.annotations().isEmpty();
        if (annotated) {
            x.append("<AnnotationRef ID=\"Annotation:0\"/>");
        }
        x.append("</Image>");
        if (annotated) {
            x.append("<StructuredAnnotations><MapAnnotation ID=\"Annotation:0\" Namespace=\"io.fluostream/export\"><Value>");
            for (Map.Entry<String, String> e : new TreeMap<>(image.annotations()).entrySet()) {
                x.append("<M");
                attr(x, "K", e.getKey());
                x.append('>');
                text(x, e.getValue());
                x.append("</M>");
            }
            x.append("</Value></MapAnnotation></StructuredAnnotations>");
        }
        x.append("</OME>");
        return x.toString();
    }

    static String number(double v) {
        return Double.toString(v);
    }

    private static void attr(StringBuilder x, String name, String value) {
        x.append(' ').append(name).append("=\"");
        text(x, value);
        x.append('"');
    }

    private static void text(StringBuilder x, String s) {
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '&' -> x.append("&amp;");
                case '<' -> x.append("&lt;");
                case '>' -> x.append("&gt;");
                case '"' -> x.append("&quot;");
                default -> {
                    if (ch >= 0x20 && ch < 0x7f) {
                        x.append(ch);
                    } else if (ch == '\t' || ch == '\n') {
                        x.append("&#").append((int) ch).append(';');
                    } else if (Character.isHighSurrogate(ch) && i + 1 < s.length()) {
                        x.append("&#x").append(Integer.toHexString(s.codePointAt(i)).toUpperCase(Locale.ROOT)).append(';');
                        i++;
                    } else if (ch >= 0xa0 && !Character.isSurrogate(ch)) {
                        x.append("&#x").append(Integer.toHexString(ch).toUpperCase(Locale.ROOT)).append(';');
                    }
                    // other control characters are not allowed in XML 1.0: dropped
                }
            }
        }
    }
}
