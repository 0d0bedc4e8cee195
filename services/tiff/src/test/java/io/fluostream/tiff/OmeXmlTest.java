package io.fluostream.tiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** OME-XML dimension orders, TiffData mappings, units, and what is refused. */
class OmeXmlTest {

    private static String ome(String pixelsAttributes, String pixelsChildren) {
        return "<?xml version=\"1.0\"?><OME xmlns=\"" + OmeXml.NAMESPACE + "\" UUID=\"urn:uuid:self\"><Image ID=\"Image:0\">"
                + "<Pixels ID=\"Pixels:0\" Type=\"uint16\" SizeX=\"4\" SizeY=\"3\" " + pixelsAttributes + ">"
                + pixelsChildren + "</Pixels></Image></OME>";
    }

    private static OmeXml.Parsed parse(String xml, int pages) throws TiffFormatException {
        return OmeXml.parse(xml, 0, pages, 3, 4, SampleType.UINT16, "self.ome.tif");
    }

    @ParameterizedTest
    @ValueSource(strings = {"XYZCT", "XYZTC", "XYCZT", "XYCTZ", "XYTCZ", "XYTZC"})
    void everyDimensionOrderMapsPlanesToPagesOneToOne(String order) throws TiffFormatException {
        StackLayout l = parse(ome("DimensionOrder=\"" + order + "\" SizeC=\"2\" SizeZ=\"3\" SizeT=\"4\"", ""), 24).layout();
        boolean[] seen = new boolean[24];
        for (int t = 0; t < 4; t++) {
            for (int c = 0; c < 2; c++) {
                for (int z = 0; z < 3; z++) {
                    int page = l.page(t, c, z);
                    assertEquals(PlaneOrder.index(order, t, c, z, 4, 2, 3), page);
                    seen[page] = true;
                }
            }
        }
        for (boolean s : seen) {
            assertTrue(s);
        }
        // The fastest dimension comes right after XY.
        char fastest = order.charAt(2);
        int step = fastest == 'C' ? l.page(0, 1, 0) : fastest == 'Z' ? l.page(0, 0, 1) : l.page(1, 0, 0);
        assertEquals(1, step);
    }

    @Test
    void perPlaneTiffDataPlacesPagesWhereverTheySay() throws TiffFormatException {
        // Bio-Formats style: one TiffData per plane, here in reverse page order.
        StringBuilder td = new StringBuilder();
        for (int t = 0; t < 2; t++) {
            for (int c = 0; c < 2; c++) {
                td.append("<TiffData FirstC=\"").append(c).append("\" FirstT=\"").append(t).append("\" FirstZ=\"0\" IFD=\"")
                        .append(3 - (t * 2 + c)).append("\" PlaneCount=\"1\"><UUID FileName=\"self.ome.tif\">urn:uuid:self</UUID></TiffData>");
            }
        }
        StackLayout l = parse(ome("DimensionOrder=\"XYCZT\" SizeC=\"2\" SizeZ=\"1\" SizeT=\"2\"", td.toString()), 4).layout();
        assertEquals(3, l.page(0, 0, 0));
        assertEquals(2, l.page(0, 1, 0));
        assertEquals(0, l.page(1, 1, 0));
    }

    @Test
    void metadataUnitsAreConverted() throws TiffFormatException {
        StackMetadata m = parse(ome("DimensionOrder=\"XYCZT\" SizeC=\"1\" SizeZ=\"1\" SizeT=\"1\" PhysicalSizeX=\"130\" "
                        + "PhysicalSizeXUnit=\"nm\" TimeIncrement=\"500\" TimeIncrementUnit=\"ms\"",
                "<Channel ID=\"Channel:0:0\" Name=\"DAPI\" SamplesPerPixel=\"1\" ExcitationWavelength=\"0.405\" "
                        + "ExcitationWavelengthUnit=\"µm\" EmissionWavelength=\"461\"/><Plane TheC=\"0\" TheT=\"0\" TheZ=\"0\" "
                        + "ExposureTime=\"0.05\"/>"), 1).metadata();
        assertEquals(0.13, m.pixelSizeUm(), 1e-12);
        assertEquals(0.5, m.frameIntervalS(), 1e-12);
        assertEquals(50, m.exposureMs(), 1e-9);
        assertEquals(List.of(new ChannelInfo("DAPI", 405, 461)), m.channels());
    }

    @Test
    void planesInAnotherFileAreRefused() {
        String xml = ome("DimensionOrder=\"XYCZT\" SizeC=\"1\" SizeZ=\"1\" SizeT=\"2\"",
                "<TiffData IFD=\"0\" FirstT=\"0\" PlaneCount=\"1\"/><TiffData IFD=\"0\" FirstT=\"1\" PlaneCount=\"1\">"
                        + "<UUID FileName=\"other.ome.tif\">urn:uuid:other</UUID></TiffData>");
        TiffFormatException e = assertThrows(TiffFormatException.class, () -> parse(xml, 1));
        assertTrue(e.getMessage().contains("multi-file") && e.getMessage().contains("other.ome.tif"), e.getMessage());
    }

    @Test
    void metadataThatPromisesMorePlanesThanPagesIsRefused() {
        TiffFormatException e = assertThrows(TiffFormatException.class,
                () -> parse(ome("DimensionOrder=\"XYCZT\" SizeC=\"2\" SizeZ=\"1\" SizeT=\"5\"", "<TiffData/>"), 6));
        assertTrue(e.getMessage().contains("plane"), e.getMessage());
    }

    @Test
    void unsupportedPixelTypesSayWhatToDo() {
        String xml = ome("DimensionOrder=\"XYCZT\" SizeC=\"1\" SizeZ=\"1\" SizeT=\"1\"", "").replace("uint16", "int32");
        TiffFormatException e = assertThrows(TiffFormatException.class, () -> parse(xml, 1));
        assertTrue(e.getMessage().contains("int32") && e.getMessage().contains("Image > Type"), e.getMessage());
    }

    @Test
    void documentTypeDeclarationsAreNotFollowed() {
        String xml = "<?xml version=\"1.0\"?><!DOCTYPE OME [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                + ome("DimensionOrder=\"XYCZT\" SizeC=\"1\" SizeZ=\"1\" SizeT=\"1\"", "").substring("<?xml version=\"1.0\"?>".length());
        assertThrows(TiffFormatException.class, () -> parse(xml, 1));
    }

    @Test
    void aSecondSeriesStartsAfterTheFirstSeriesPages() throws TiffFormatException {
        String image = "<Image ID=\"Image:%d\"><Pixels ID=\"Pixels:%d\" DimensionOrder=\"XYCZT\" Type=\"uint16\" SizeX=\"4\" "
                + "SizeY=\"3\" SizeC=\"1\" SizeZ=\"1\" SizeT=\"%d\"/></Image>";
        String xml = "<OME xmlns=\"" + OmeXml.NAMESPACE + "\">" + String.format(image, 0, 0, 3) + String.format(image, 1, 1, 2) + "</OME>";
        OmeXml.Parsed p = OmeXml.parse(xml, 1, 5, 3, 4, SampleType.UINT16, "f.tif");
        assertEquals(2, p.seriesCount());
        assertEquals(2, p.layout().sizeT());
        assertEquals(3, p.layout().page(0, 0, 0));
        assertEquals(4, p.layout().page(1, 0, 0));
    }
}
