package io.stubdm.ioreq;

import static org.junit.jupiter.api.Assertions.*;

import io.stubdm.hypervisor.sim.SimXen;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The device loop on its own: tasks from other threads, timers, failures that must not stop it. */
class DeviceLoopTest {
    private final DeviceLoop loop = new DeviceLoop(new SimXen().openEventChannels(), "loop-under-test");

    @AfterEach
    void tearDown() {
        loop.close();
    }

    @Test
    void aTaskPostedFromAnotherThreadWakesASleepingLoop() throws Exception {
        loop.start();
        for (int i = 0; i < 100; i++) {
            CompletableFuture<String> done = new CompletableFuture<>();
            // The loop sleeps without a deadline here, so only the wakeup can get this task run.
            loop.execute(() -> done.complete(Thread.currentThread().getName()));
            assertEquals("loop-under-test", done.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void timersFireInDeadlineOrderAndCancelledOnesDoNot() {
        // A clock the test advances, so the order depends on the deadlines alone and not on how long the
        // scheduling calls themselves take on a loaded machine.
        long[] now = {1_000};
        try (DeviceLoop stepped = new DeviceLoop(new SimXen().openEventChannels(), "stepped", () -> now[0])) {
            List<String> fired = new ArrayList<>();
            stepped.schedule(60_000_000, () -> fired.add("c"));
            DeviceClock.Timer cancelled = stepped.schedule(1_000_000, () -> fired.add("cancelled"));
            stepped.schedule(2_000_000, () -> fired.add("b"));
            stepped.schedule(2_000_000, () -> fired.add("b2")); // same deadline, scheduled later: never before b
            stepped.schedule(0, () -> fired.add("a"));
            cancelled.cancel();
            stepped.runOnce(0);
            assertEquals(List.of("a"), fired);
            now[0] += 1_999_999;
            stepped.runOnce(0);
            assertEquals(List.of("a"), fired, "nothing is due one nanosecond early");
            now[0] += 1;
            stepped.runOnce(0);
            assertEquals(List.of("a", "b", "b2"), fired);
            now[0] += 58_000_000;
            stepped.runOnce(0);
            assertEquals(List.of("a", "b", "b2", "c"), fired);
        }
    }

    @Test
    void aLoopWithNothingElseToDoSleepsUntilTheNextTimerIsDue() {
        boolean[] fired = {false};
        long start = System.nanoTime();
        loop.schedule(20_000_000, () -> fired[0] = true);
        long end = start + 5_000_000_000L;
        while (!fired[0] && System.nanoTime() < end) {
            loop.runOnce(-1);
        }
        assertTrue(fired[0]);
        assertTrue(System.nanoTime() - start >= 20_000_000, "a timer never fires before its deadline");
    }

    @Test
    void aFailingTaskOrTimerIsCountedAndTheLoopGoesOn() throws Exception {
        loop.start();
        CountDownLatch after = new CountDownLatch(2);
        loop.execute(() -> {
            throw new IllegalStateException("task bug");
        });
        loop.execute(() -> loop.schedule(0, () -> {
            throw new IllegalStateException("timer bug");
        }));
        loop.execute(() -> loop.schedule(1_000_000, after::countDown));
        loop.execute(after::countDown);
        assertTrue(after.await(5, TimeUnit.SECONDS));
        assertEquals(2, loop.failures());
    }

    @Test
    void aTaskThatRepostsItselfDoesNotStarveTimers() {
        int[] reposts = {0};
        boolean[] timerFired = {false};
        Runnable[] task = new Runnable[1];
        task[0] = () -> {
            reposts[0]++;
            loop.execute(task[0]);
        };
        loop.execute(task[0]);
        loop.schedule(0, () -> timerFired[0] = true);
        loop.runOnce(0);
        assertTrue(timerFired[0]);
        assertEquals(1, reposts[0], "one turn runs only what was queued before it");
    }

    @Test
    void closeStopsTheThread() throws Exception {
        loop.start();
        CompletableFuture<Thread> t = new CompletableFuture<>();
        loop.execute(() -> t.complete(Thread.currentThread()));
        Thread thread = t.get(5, TimeUnit.SECONDS);
        loop.close();
        thread.join(5000);
        assertFalse(thread.isAlive());
        assertThrows(IllegalStateException.class, loop::start, "a loop runs once");
    }
}
