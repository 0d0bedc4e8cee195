package io.fluostream.imaging.stabilise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fluostream.imaging.Image;
import io.fluostream.imaging.Images;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The thread team, the binned registration plane, and answers that do not depend on threads. */
class WorkersTest {

    @Test
    void everyPartRunsOnceEachTimeAndFailuresComeBack() {
        try (Workers workers = new Workers(3)) {
            AtomicIntegerArray runs = new AtomicIntegerArray(3);
            for (int i = 0; i < 200; i++) {
                workers.run(runs::incrementAndGet);
            }
            for (int p = 0; p < 3; p++) {
                assertEquals(200, runs.get(p), "part " + p);
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> workers.run(p -> {
                if (p == 2) {
                    throw new IllegalStateException("part 2 failed");
                }
            }));
            assertEquals("part 2 failed", e.getMessage());
            workers.run(runs::incrementAndGet); // still usable
            assertEquals(201, runs.get(2));
        }
        assertThrows(IllegalArgumentException.class, () -> new Workers(0));
    }

    @Test
    void rangesCoverTheTotalInGrains() {
        int covered = 0;
        for (int p = 0; p < 3; p++) {
            int s = Workers.start(p, 3, 100, 8);
            int e = Workers.end(p, 3, 100, 8);
            assertEquals(covered, s);
            assertTrue(s % 8 == 0);
            covered = e;
        }
        assertEquals(100, covered);
    }

    /** The correlator's answers are the same, to rounding, on one thread and on two. */
    @Test
    void phaseCorrelationDoesNotDependOnTheThreadCount() {
        int h = 96;
        int w = 120;
        Scenes.Blob[] blobs = Scenes.blobs(41, h, w, 30, 0.02);
        Image reference = Scenes.render(blobs, h, w, 0, 0, 50, 5);
        try (Workers two = new Workers(2)) {
            PhaseCorrelator one = new PhaseCorrelator(h, w, PhaseCorrelator.Settings.DEFAULT, null);
            PhaseCorrelator parallel = new PhaseCorrelator(h, w, PhaseCorrelator.Settings.DEFAULT, two);
            ReferenceSpectrum a = one.prepare(reference);
            ReferenceSpectrum b = parallel.prepare(reference);
            for (double[] d : new double[][] {{2.3, -1.1}, {-20.4, 17.9}, {0.2, 0.1}}) {
                Image frame = Scenes.poisson(Scenes.render(blobs, h, w, d[0], d[1], 50, 5), 7);
                Shift s1 = one.estimate(a, frame);
                Shift s2 = parallel.estimate(b, frame);
                assertEquals(s1.dx(), s2.dx(), 1e-9);
                assertEquals(s1.dy(), s2.dy(), 1e-9);
                assertEquals(s1.confidence(), s2.confidence(), 1e-9);
            }
        }
    }

    @Test
    void registrationPlaneSumsBlocksOfTheChosenChannels() {
        Image frame = new Image(2, 5, 7);
        for (int i = 0; i < frame.data().length; i++) {
            frame.data()[i] = i;
        }
        Image plane = RegistrationPlane.allocate(frame, 2);
        assertEquals(2, plane.height());
        assertEquals(3, plane.width());
        RegistrationPlane.reduce(frame, 1, 2, plane, null);
        // Channel 1 starts at 35: block (0, 0) holds 35, 36, 42, 43.
        assertEquals(35 + 36 + 42 + 43, plane.get(0, 0, 0));
        RegistrationPlane.reduce(frame, -1, 2, plane, null);
        assertEquals(0 + 1 + 7 + 8 + 35 + 36 + 42 + 43, plane.get(0, 0, 0));
        Image full = new Image(1, 5, 7);
        try (Workers two = new Workers(2)) {
            RegistrationPlane.reduce(frame, -1, 1, full, two);
        }
        assertArrayEquals(Images.sumChannels(frame).data(), full.data());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RegistrationPlane.reduce(frame, 2, 1, full, null));
        assertTrue(e.getMessage().contains("use -1"), e.getMessage());
    }

    @Test
    void automaticBinningKeepsAtLeast256Pixels() {
        assertEquals(1, RegistrationPlane.binning(0, 256, 256));
        assertEquals(1, RegistrationPlane.binning(0, 511, 800));
        assertEquals(2, RegistrationPlane.binning(0, 512, 512));
        assertEquals(4, RegistrationPlane.binning(0, 2048, 2048));
        assertEquals(3, RegistrationPlane.binning(3, 512, 512));
        assertEquals(2, RegistrationPlane.binning(8, 32, 40), "never below 16 px a side");
    }
}
