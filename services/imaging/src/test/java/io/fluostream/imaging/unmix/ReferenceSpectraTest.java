package io.fluostream.imaging.unmix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ReferenceSpectraTest {

    @Test
    void holdsTheMatrixRowByRow() {
        ReferenceSpectra s = ReferenceSpectra.of(new double[][] {{0.6, 0.1}, {0.3, 0.4}, {0.1, 0.5}});
        assertEquals(3, s.channels());
        assertEquals(2, s.fluorophores());
        assertEquals(0.3, s.get(1, 0));
        assertEquals(0.5, s.get(2, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> s.get(3, 0));
    }

    @Test
    void isImmutable() {
        double[][] rows = {{1, 0}, {0, 1}};
        ReferenceSpectra s = ReferenceSpectra.of(rows);
        rows[0][0] = 7;
        s.toRows()[0][0] = 9;
        assertEquals(1.0, s.get(0, 0));
        assertNotSame(s.toRows(), s.toRows());
    }

    @Test
    void conditionNumberOfKnownMatrices() {
        // Orthonormal columns: all singular values 1.
        assertEquals(1.0, ReferenceSpectra.of(new double[][] {{1, 0}, {0, 1}, {0, 0}}).conditionNumber(), 1e-12);
        // diag(4, 1): singular values 4 and 1.
        assertEquals(4.0, ReferenceSpectra.of(new double[][] {{4, 0}, {0, 1}}).conditionNumber(), 1e-12);
    }

    @Test
    void parsesTheCompactTextForm() {
        ReferenceSpectra s = ReferenceSpectra.parse(" 0.6, 0.3 ,0.1; 0.3,0.4,0.2;0.1,0.3,0.7 ;");
        assertEquals(3, s.channels());
        assertEquals(3, s.fluorophores());
        assertEquals(0.2, s.get(1, 2));
        assertEquals(0.7, s.get(2, 2));
    }

    @Test
    void textRoundTripsExactly() {
        ReferenceSpectra s = ReferenceSpectra.of(new double[][] {
            {0.6, 1.0 / 3, 1e-7},
            {0.3, 0.4, 0.2},
            {0.1, 0.30000000000000004, 0.7},
            {12345.678, 0, 2.5e-300},
        });
        ReferenceSpectra back = ReferenceSpectra.parse(s.toText());
        assertEquals(s, back);
        assertEquals(s.hashCode(), back.hashCode());
        assertEquals(s.toText(), back.toText());
        assertEquals("1.0,0.0;0.0,1.0", ReferenceSpectra.of(new double[][] {{1, 0}, {0, 1}}).toText());
    }

    @Test
    void parserNamesTheBadValue() {
        assertMessage("row 1, value 2: 'x' is not a number", () -> ReferenceSpectra.parse("1,0,0;0,1,x;0,0,1"));
        assertMessage("row 1 is empty", () -> ReferenceSpectra.parse("1,0;;0,1"));
        assertMessage("text is empty", () -> ReferenceSpectra.parse("  "));
        assertMessage("row 1, value 1: '' is not a number", () -> ReferenceSpectra.parse("1,0;0,"));
        assertMessage("row 1 has 1 values but row 0 has 2", () -> ReferenceSpectra.parse("1,0;1;0,1"));
    }

    @Test
    void rejectsWrongShapes() {
        assertMessage("2 channels for 3 fluorophores", () -> ReferenceSpectra.of(new double[][] {{1, 0, 0}, {0, 1, 0}}));
        assertMessage("at least one row", () -> ReferenceSpectra.of(new double[0][]));
        assertMessage("at least one column", () -> ReferenceSpectra.of(new double[][] {{}, {}}));
        assertMessage("row 2 has 1 values, expected 2", () -> ReferenceSpectra.of(new double[][] {{1, 0}, {0, 1}, {1}}));
    }

    @Test
    void rejectsNegativeAndNonFiniteValues() {
        assertMessage("channel 1, fluorophore 0 is negative (-0.1)",
                () -> ReferenceSpectra.of(new double[][] {{1, 0}, {-0.1, 1}}));
        assertMessage("channel 0, fluorophore 1 is not finite (NaN)",
                () -> ReferenceSpectra.of(new double[][] {{1, Double.NaN}, {0, 1}}));
        assertMessage("is not finite (Infinity)",
                () -> ReferenceSpectra.of(new double[][] {{1, 0}, {0, Double.POSITIVE_INFINITY}}));
        assertMessage("column 1 is all zero", () -> ReferenceSpectra.of(new double[][] {{1, 0}, {1, 0}}));
    }

    @Test
    void rejectsRankDeficientSpectraNamingTheDependentColumn() {
        assertMessage("spectra column 2 is a multiple of column 0 (rank 2 < 3 fluorophores)",
                () -> ReferenceSpectra.parse("0.6,0.1,1.2;0.3,0.4,0.6;0.1,0.5,0.2;0,0,0"));
        assertMessage("spectra column 2 is a linear combination of columns 0, 1 (rank 2 < 3 fluorophores)",
                () -> ReferenceSpectra.parse("0.6,0.1,0.7;0.3,0.4,0.7;0.1,0.5,0.6;0.2,0.2,0.4"));
        // Identical to rounding well below the tolerance still counts as dependent.
        assertMessage("column 1 is a multiple of column 0 (rank 1 < 2",
                () -> ReferenceSpectra.of(new double[][] {{0.5, 0.5}, {0.5, 0.5 + 1e-12}}));
        assertMessage("column 1 is negligibly weak",
                () -> ReferenceSpectra.of(new double[][] {{1, 0}, {0, 1e-9}}));
    }

    @Test
    void acceptsNearlyOverlappingButResolvableSpectra() {
        // Singular value ratio about 1e-4, above the 1e-6 tolerance: valid but badly conditioned.
        ReferenceSpectra s = ReferenceSpectra.of(new double[][] {{0.5, 0.5}, {0.5, 0.5001}});
        assertTrue(s.conditionNumber() > 1e3, "condition number " + s.conditionNumber());
    }

    private static void assertMessage(String expectedPart, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expectedPart), "message was: " + e.getMessage());
    }
}
