using System.Text.Json;
using CallMedia.IntegrationTests.Infrastructure;
using Microsoft.Playwright;

namespace CallMedia.IntegrationTests;

/// <summary>Headless Chromium (the system browser) plays and seeks media through token URLs, as a supervisor's browser would.</summary>
public sealed class BrowserTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Chromium = "/usr/bin/chromium";

    /// <summary>Plays muted, waits for playback, seeks to the middle, and reports where the element is.</summary>
    private const string PlayAndSeek = """
        async ([tag, src]) => {
          const m = document.createElement(tag);
          m.muted = true;
          m.src = src;
          document.body.appendChild(m);
          const fail = new Promise((_, reject) => m.addEventListener('error', () => reject(new Error('media error ' + (m.error && m.error.code))), { once: true }));
          const until = (check) => Promise.race([fail, new Promise(resolve => { const t = () => check() ? resolve() : setTimeout(t, 25); t(); })]);
          await Promise.race([fail, m.play()]);
          await until(() => m.currentTime > 0.2);
          const target = m.duration / 2;
          const seeked = new Promise(resolve => m.addEventListener('seeked', resolve, { once: true }));
          m.currentTime = target;
          await Promise.race([fail, seeked]);
          const afterSeek = m.currentTime;
          await until(() => m.currentTime > afterSeek + 0.3);
          return JSON.stringify({ duration: m.duration, target, afterSeek, later: m.currentTime, width: m.videoWidth || 0 });
        }
        """;

    private TestServer Server => fixture.Server;

    [Theory]
    [InlineData("1003", "audio", "mp3")]
    [InlineData("1022", "audio", "mp3")]
    [InlineData("1028&type=16", "video", "mp4")]
    public async Task Chromium_PlaysStreamAndSeeksToTheMiddle(string couple, string tag, string ext)
    {
        Assert.True(File.Exists(Chromium), "Chromium is not installed (scripts/setup.sh --test installs it)");
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=" + couple);

        // A browser that dies under load ("has been closed") is retried once with a fresh one; a failed
        // playback or seek is an assertion below and is never retried.
        string json;
        try
        {
            json = await PlayInChromiumAsync(tag, $"/callrec/sendcallfile.{ext};jsessionid={session}?token={token}");
        }
        catch (PlaywrightException ex) when (ex.Message.Contains("has been closed", StringComparison.Ordinal))
        {
            token = await CallRec.RequireTokenAsync(client, session, "id_call[]=" + couple);
            json = await PlayInChromiumAsync(tag, $"/callrec/sendcallfile.{ext};jsessionid={session}?token={token}");
        }

        var result = JsonDocument.Parse(json).RootElement;
        var duration = result.GetProperty("duration").GetDouble();
        var target = result.GetProperty("target").GetDouble();
        var afterSeek = result.GetProperty("afterSeek").GetDouble();
        Assert.InRange(duration, 5, 60);
        Assert.InRange(afterSeek, target - 0.5, target + 0.5);
        Assert.True(result.GetProperty("later").GetDouble() > afterSeek, $"playback did not advance after the seek: {json}");
        if (tag == "video")
        {
            Assert.Equal(640, result.GetProperty("width").GetInt32());
        }
    }

    private async Task<string> PlayInChromiumAsync(string tag, string src)
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
            ],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(new Uri(Server.BaseAddress, "/callrec/").ToString());
        return await page.EvaluateAsync<string>(PlayAndSeek, new[] { tag, src });
    }
}
