using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>Transcodes and prepare jobs with real ffmpeg and ffprobe on generated media.</summary>
public sealed partial class MediaTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 9, 0, 0, TimeSpan.Zero);

    private readonly string _work = Directory.CreateTempSubdirectory("callmedia-media-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task WavStream_FirstPlayStreamsWhileTranscoding_ThenCachedWithInfoHeaderAndRanges()
    {
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1023");

        using var live = await client.SendAsync(CallRec.Send(session, token), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Null(live.Content.Headers.ContentLength);
        Assert.Equal("bytes", live.Headers.AcceptRanges.Single());
        Assert.Equal("audio/mpeg", live.Content.Headers.ContentType!.MediaType);
        var streamed = await live.Content.ReadAsByteArrayAsync();
        Assert.Contains("codec_name=mp3", await ProbeAsync(streamed, "mp3"), StringComparison.Ordinal);

        // Now cached: a length, an ETag, ranges, and the LAME/Xing Info header that makes players show the duration.
        using var head = CallRec.Send(session, token);
        head.Headers.Range = new RangeHeaderValue(0, null);
        using var cached = await client.SendAsync(head);
        Assert.Equal(HttpStatusCode.PartialContent, cached.StatusCode);
        var file = await cached.Content.ReadAsByteArrayAsync();
        Assert.NotNull(cached.Headers.ETag);
        Assert.Contains("Info", Encoding.Latin1.GetString(file, 0, 400), StringComparison.Ordinal);
        // The live stream has no Info header (a pipe cannot be rewritten), but the same audio.
        Assert.InRange(Duration(await ProbeAsync(streamed, "mp3")), Duration(await ProbeAsync(file, "mp3")) - 0.1, Duration(await ProbeAsync(file, "mp3")) + 0.1);
        var couple = (await server.Services.GetRequiredService<CallMedia.Calls.CallStore>().GetCouplesAsync([1023]))[1023];
        Assert.InRange(Duration(await ProbeAsync(file, "mp3")), (couple.Stop - couple.Start).TotalSeconds - 0.2, (couple.Stop - couple.Start).TotalSeconds + 0.2);
    }

    [Fact]
    public async Task TwoDirectionStream_IsStereo16kHz_CalleeChannelSilentUntilItsStart()
    {
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1024");
        using var response = await client.SendAsync(CallRec.Send(session, token));
        var mp3 = await response.Content.ReadAsByteArrayAsync();
        var probe = await ProbeAsync(mp3, "mp3");
        Assert.Contains("channels=2", probe, StringComparison.Ordinal);
        Assert.Contains("sample_rate=16000", probe, StringComparison.Ordinal);

        var path = Path.Combine(_work, "two.mp3");
        await File.WriteAllBytesAsync(path, mp3);
        var (_, _, left) = await Tool.RunAsync("ffmpeg", ["-hide_banner", "-i", path, "-af", "pan=mono|c0=c0,silencedetect=n=-30dB:d=0.3", "-f", "null", "-"]);
        var (_, _, right) = await Tool.RunAsync("ffmpeg", ["-hide_banner", "-i", path, "-af", "pan=mono|c0=c1,silencedetect=n=-30dB:d=0.3", "-f", "null", "-"]);
        Assert.DoesNotContain("silence_start: 0", left, StringComparison.Ordinal);
        Assert.InRange(SilenceEnd(right), 1.4, 1.6); // the callee's leg starts 1.5 s into the call
    }

    [Fact]
    public async Task Transcodes_PastTheLimit_Get503WithRetryAfter_AndADisconnectStopsTheTranscode()
    {
        // ffmpeg reading its input at real-time speed (-re), so a transcode lasts as long as the call.
        var slow = Path.Combine(_work, "realtime-ffmpeg");
        await File.WriteAllTextAsync(slow, "#!/bin/sh\nexec ffmpeg -re \"$@\"\n");
        await Tool.RequireAsync("chmod", "+x", slow);
        await using var server = await TestServer.StartAsync("Media:MaxConcurrentTranscodes=1", $"Media:Ffmpeg={slow}");
        var ids = await ImportAsync(server, [await WavAsync("long1.wav", 120), await WavAsync("long2.wav", 121)]); // different content: identical sources would share one transcode
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var first = await CallRec.RequireTokenAsync(client, session, $"id_call[]={ids[0]}");
        var second = await CallRec.RequireTokenAsync(client, session, $"id_call[]={ids[1]}");

        using (var live = await client.SendAsync(CallRec.Send(session, first), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            await using var body = await live.Content.ReadAsStreamAsync();
            await body.ReadExactlyAsync(new byte[1000]);

            using var busy = await client.SendAsync(CallRec.Send(session, second));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, busy.StatusCode);
            Assert.NotNull(busy.Headers.RetryAfter);
        }

        // The only listener left: the transcode stops, frees its slot and leaves no cache file behind.
        var cache = Path.Combine(server.DataDir, "media", ".cache", "mp3");
        var waited = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            var retry = await CallRec.RequireTokenAsync(client, session, $"id_call[]={ids[1]}");
            using var attempt = await client.SendAsync(CallRec.Send(session, retry), HttpCompletionOption.ResponseHeadersRead);
            status = attempt.StatusCode;
            if (status == HttpStatusCode.ServiceUnavailable)
            {
                // As a client told to retry would: without a pause, a fast machine asked for the session's whole token
                // window (Tokens:MaxPerSessionPerMinute) within a second or two and was refused a token (429).
                await Task.Delay(50);
            }
        }
        while (status == HttpStatusCode.ServiceUnavailable && waited.Elapsed < TimeSpan.FromSeconds(20));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), "the abandoned transcode kept its slot");
        Assert.False(Directory.Exists(cache) && Directory.EnumerateFiles(cache).Any(), "an abandoned transcode left a cache file");
    }

    [Fact]
    public async Task LiveTranscodes_ClientResetsMidBody_TransferCutOffAndAuditedWithoutAnErrorEscaping()
    {
        await using var server = await TestServer.StartAsync();
        var wavs = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            wavs.Add(await GenerateAsync($"reset{i}.wav", "-f", "lavfi", "-i", $"sine=f={300 + (50 * i)}:r=8000:d=600", "-c:a", "pcm_s16le"));
        }

        var ids = await ImportAsync(server, wavs);
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        foreach (var id in ids)
        {
            var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}");
            // A player closed mid-stream: a reset, not a polite close, while the transcode still writes.
            using var socket = new System.Net.Sockets.TcpClient { LingerState = new System.Net.Sockets.LingerOption(true, 0) };
            await socket.ConnectAsync("127.0.0.1", server.BaseAddress.Port);
            var stream = socket.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /callrec/sendcallfile.mp3;jsessionid={session}?token={token} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
            var head = new byte[4096];
            await stream.ReadExactlyAsync(head);
            Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(head), StringComparison.Ordinal);
            socket.Close();
        }

        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        var waited = Stopwatch.StartNew();
        List<string> outcomes;
        do
        {
            await server.FlushAuditAsync();
            outcomes = (await connection.QueryAsync<(string CoupleIds, string Outcome)>("SELECT couple_ids, outcome FROM audit WHERE action = 'redeem'"))
                .Where(r => ids.Contains(long.Parse(r.CoupleIds, CultureInfo.InvariantCulture)))
                .Select(r => r.Outcome)
                .ToList();
        }
        while (outcomes.Count(o => o != CallMedia.Audit.AuditLog.Started) < ids.Count && waited.Elapsed < TimeSpan.FromSeconds(30));

        Assert.Equal(ids.Count, outcomes.Count);
        Assert.All(outcomes, o => Assert.Equal("200-incomplete", o));
        // Disposing the server checks that none of these resets reached it as an unhandled application exception.
    }

    [Fact]
    public async Task Prepare_MixesCaptureAndAudioInSync_StoresVideoAndKeepsRecd()
    {
        await using var server = await TestServer.StartAsync();
        // Audio from T0 with a tone at 3.5 s; the capture starts 2 s later and turns white 1.5 s in, also at 3.5 s.
        var audio = await GenerateAsync("sync.wav", "-f", "lavfi", "-i", "aevalsrc='if(gte(t,3.5),0.5*sin(2*PI*440*t),0)':s=48000:d=6", "-c:a", "pcm_s16le");
        var capture = await GenerateAsync(
            "sync.mkv", "-f", "lavfi", "-i", "color=c=black:s=320x240:r=25:d=1.5[b];color=c=white:s=320x240:r=25:d=2.5[w];[b][w]concat=n=2:v=1:a=0",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", "matroska");
        var sid = "sync-" + Guid.NewGuid().ToString("N")[..8];
        var id = (await ImportRowsAsync(server, (sid, "audio", audio, T0, T0.AddSeconds(6)), (sid, "recd", capture, T0.AddSeconds(2), T0.AddSeconds(6))))[0];

        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var prepare = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&type=16&action=prepare");
        using var prepared = await client.SendAsync(CallRec.Send(session, prepare, "mp4"));
        var reply = await prepared.Content.ReadAsStringAsync();
        Assert.True(prepared.StatusCode == HttpStatusCode.OK, reply);
        var videoToken = Regex.Match(reply, "<reply>([A-Za-z0-9]{20})</reply>").Groups[1].Value;

        using var video = await client.SendAsync(CallRec.Send(session, videoToken, "mp4"));
        Assert.Equal("video/mp4", video.Content.Headers.ContentType!.MediaType);
        var mp4 = await video.Content.ReadAsByteArrayAsync();
        var text = Encoding.Latin1.GetString(mp4);
        Assert.True(text.IndexOf("moov", StringComparison.Ordinal) < text.IndexOf("mdat", StringComparison.Ordinal), "moov must come before mdat");
        var probe = await ProbeAsync(mp4, "mp4");
        Assert.Contains("codec_name=h264", probe, StringComparison.Ordinal);
        Assert.Contains("codec_name=aac", probe, StringComparison.Ordinal);
        Assert.InRange(Duration(probe), 5.8, 6.3);

        var path = Path.Combine(_work, "out.mp4");
        await File.WriteAllBytesAsync(path, mp4);
        var (_, _, log) = await Tool.RunAsync("ffmpeg", ["-hide_banner", "-i", path, "-vf", "blackdetect=d=0.5:pix_th=0.1", "-af", "silencedetect=n=-30dB:d=0.5", "-f", "null", "-"]);
        var blackEnd = double.Parse(Regex.Match(log, @"black_end:([\d.]+)").Groups[1].Value, CultureInfo.InvariantCulture);
        var toneStart = SilenceEnd(log);
        Assert.InRange(blackEnd, 3.4, 3.6);
        Assert.InRange(toneStart, 3.4, 3.6);
        Assert.InRange(Math.Abs(blackEnd - toneStart), 0, 0.1);

        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        var files = (await connection.QueryAsync<(long Type, long Size)>("SELECT type, size FROM media_files WHERE couple_id = @id ORDER BY type", new { id })).ToList();
        Assert.Equal([1L, 16L, 32L], files.Select(f => f.Type));
        Assert.Equal(mp4.Length, files.Single(f => f.Type == 16).Size);
        Assert.Equal(1 | 16 | 32, await connection.ExecuteScalarAsync<long>("SELECT types FROM couples WHERE id = @id", new { id }));
    }

    [Fact]
    public async Task Prepare_TwoAtOnce_MakeOneJobAndOneVideo_AsyncClientsPollTheJob()
    {
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var a = await CallRec.RequireTokenAsync(client, session, "id_call[]=1026&type=16&action=prepare");
        var b = await CallRec.RequireTokenAsync(client, session, "id_call[]=1026&type=16&action=prepare");
        var c = await CallRec.RequireTokenAsync(client, session, "id_call[]=1026&type=16&action=prepare");

        using var asyncRequest = CallRec.Send(session, c, "mp4");
        asyncRequest.Headers.Add("Prefer", "respond-async");
        var responses = await Task.WhenAll(client.SendAsync(CallRec.Send(session, a, "mp4")), client.SendAsync(CallRec.Send(session, b, "mp4")), client.SendAsync(asyncRequest));
        Assert.Equal(HttpStatusCode.OK, responses[0].StatusCode);
        Assert.Equal(HttpStatusCode.OK, responses[1].StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, responses[2].StatusCode);
        var location = responses[2].Headers.Location!.OriginalString;
        Assert.Matches("^/callrec/jobs/\\d+$", location);

        using var job = new HttpRequestMessage(HttpMethod.Get, location).WithSession(session);
        var status = await (await client.SendAsync(job)).Content.ReadAsStringAsync();
        Assert.Matches("<job id=\"\\d+\" state=\"done\" progress=\"100\"/>\n<reply>[A-Za-z0-9]{20}</reply>", status);

        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM jobs WHERE couple_id = 1026"));
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM media_files WHERE couple_id = 1026 AND type = 16"));
        foreach (var r in responses)
        {
            r.Dispose();
        }
    }

    [Fact]
    public async Task Prepare_CorruptCapture_FailsClearly_StoresNothing()
    {
        await using var server = await TestServer.StartAsync();
        var corrupt = Path.Combine(_work, "corrupt.recd");
        var junk = new byte[200_000];
        Random.Shared.NextBytes(junk);
        await File.WriteAllBytesAsync(corrupt, junk);
        var audio = await WavAsync("c.wav", 5);
        var sid = "corrupt-" + Guid.NewGuid().ToString("N")[..8];
        var id = (await ImportRowsAsync(server, (sid, "audio", audio, T0, T0.AddSeconds(5)), (sid, "recd", corrupt, T0, T0.AddSeconds(5))))[0];

        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&type=16&action=prepare");
        using var response = await client.SendAsync(CallRec.Send(session, token, "mp4"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("screen capture", body, StringComparison.Ordinal);

        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        Assert.Equal("failed", await connection.ExecuteScalarAsync<string>("SELECT state FROM jobs WHERE couple_id = @id", new { id }));
        Assert.Equal(1 | 32, await connection.ExecuteScalarAsync<long>("SELECT types FROM couples WHERE id = @id", new { id }));
        Assert.DoesNotContain(await TestStorage.ListAsync(server.DataDir, server.DatabaseArgs), k => Path.GetFileName(k).StartsWith($"{id}-video-", StringComparison.Ordinal));
        var unmixed = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&type=16");
        using var stream = await client.SendAsync(CallRec.Send(session, unmixed, "mp4"));
        Assert.Equal(HttpStatusCode.Conflict, stream.StatusCode);
    }

    [Fact]
    public async Task Prepare_ServerKilledMidJob_NextServerFinishesIt_OneVideoNoHalfFile()
    {
        var (data, dbArgs) = await TestDatabase.NewAsync();
        var capture = await GenerateAsync("long.mkv", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=90", "-c:v", "libx264", "-preset", "ultrafast", "-f", "matroska");
        var audio = await WavAsync("long.wav", 90);
        var manifest = Path.Combine(_work, "long.csv");
        var sid = "killed-" + Guid.NewGuid().ToString("N")[..8];
        await File.WriteAllTextAsync(manifest, $"sid,start,stop,calling_number,called_number,type,path\n{sid},{Iso(T0)},{Iso(T0.AddSeconds(90))},100,200,audio,{audio}\n{sid},{Iso(T0)},{Iso(T0.AddSeconds(90))},100,200,recd,{capture}\n");
        var dll = typeof(CallMedia.Cli.CliApp).Assembly.Location;
        await Tool.RequireAsync("dotnet", [dll, "import", manifest, .. dbArgs]);
        var added = await CallMedia.Cli.CliApp.RunAsync(
            ["user", "add", "killer", "--role", "supervisor", .. dbArgs],
            new CallMedia.Cli.CliConsole(new StringReader("killer-password\n"), TextWriter.Null, TextWriter.Null, false));
        Assert.Equal(0, added);

        // A real server process, killed with SIGKILL while the job runs.
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[dll, "serve", "--no-demo", .. dbArgs, "--urls", "http://127.0.0.1:0", "--Media:JobLease=00:00:05"])
        {
            start.ArgumentList.Add(a);
        }

        using (var process = Process.Start(start)!)
        {
            string? url = null;
            while (url is null && await process.StandardOutput.ReadLineAsync() is { } line)
            {
                url = Regex.Match(line, @"listening on (http://\S+)/callrec/").Groups[1].Value is { Length: > 0 } u ? u : null;
            }

            Assert.NotNull(url);
            using var client = new HttpClient { BaseAddress = new Uri(url!) };
            var session = await CallRec.LoginAsync(client, "killer", "killer-password");
            var id = await CoupleIdAsync(dbArgs, sid);
            var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&type=16&action=prepare");
            using var request = CallRec.Send(session, token, "mp4");
            request.Headers.Add("Prefer", "respond-async");
            (await client.SendAsync(request)).Dispose();

            var waited = Stopwatch.StartNew();
            while (await ProgressAsync(dbArgs, id) is < 1 and >= 0 && waited.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(50);
            }

            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        Assert.InRange(await ProgressAsync(dbArgs, await CoupleIdAsync(dbArgs, sid)), 1, 99);
        Assert.DoesNotContain(await TestStorage.ListAsync(data, dbArgs), IsVideo);

        await using var next = await TestServer.StartOnAsync(data, dbArgs, "Media:JobLease=00:00:05");
        next.Clock.Advance(TimeSpan.FromMinutes(1)); // the dead node's lease has run out
        var coupleId = await CoupleIdAsync(dbArgs, sid);
        var finished = Stopwatch.StartNew();
        while (await StateAsync(dbArgs, coupleId) != "done" && finished.Elapsed < TimeSpan.FromSeconds(300))
        {
            await Task.Delay(100);
        }

        Assert.Equal("done", await StateAsync(dbArgs, coupleId));
        await using var connection = await next.Services.GetRequiredService<Database>().OpenAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM media_files WHERE couple_id = @coupleId AND type = 16", new { coupleId }));
        Assert.Single(await TestStorage.ListAsync(data, dbArgs), IsVideo);
    }

    private static bool IsVideo(string key) => Path.GetFileName(key).Contains("video", StringComparison.Ordinal) && key.EndsWith(".mp4", StringComparison.Ordinal) && !key.StartsWith(".tmp/", StringComparison.Ordinal);

    [Fact]
    public async Task PrepareCli_AllUnmixed_MixesEveryCapture()
    {
        await using var server = await TestServer.StartAsync();
        var (exit, output, error) = await server.CliAsync("", "prepare", "--all-unmixed");
        Assert.True(exit == 0, error);
        Assert.Contains("prepare: 3 videos ready, 0 failed", output, StringComparison.Ordinal);
        await using var connection = await server.Services.GetRequiredService<Database>().OpenAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM couples WHERE (types & 32) <> 0 AND (types & 16) = 0"));
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static async Task<long> CoupleIdAsync(string[] dbArgs, string sid)
    {
        using var db = TestDatabase.Open(dbArgs);
        await using var connection = await db.OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT id FROM couples WHERE sid = @sid", new { sid });
    }

    private static async Task<long> ProgressAsync(string[] dbArgs, long coupleId)
    {
        using var db = TestDatabase.Open(dbArgs);
        await using var connection = await db.OpenAsync();
        return await connection.ExecuteScalarAsync<long?>("SELECT progress FROM jobs WHERE couple_id = @coupleId", new { coupleId }) ?? 0;
    }

    private static async Task<string?> StateAsync(string[] dbArgs, long coupleId)
    {
        using var db = TestDatabase.Open(dbArgs);
        await using var connection = await db.OpenAsync();
        return await connection.ExecuteScalarAsync<string?>("SELECT state FROM jobs WHERE couple_id = @coupleId", new { coupleId });
    }

    private Task<string> WavAsync(string name, int seconds) =>
        GenerateAsync(name, "-f", "lavfi", "-i", $"sine=f=300:r=8000:d={seconds}", "-c:a", "pcm_s16le");

    private async Task<string> GenerateAsync(string name, params string[] args)
    {
        var path = Path.Combine(_work, name);
        await Tool.RequireAsync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", .. args, path]);
        return path;
    }

    private Task<IReadOnlyList<long>> ImportAsync(TestServer server, IEnumerable<string> wavs) =>
        ImportRowsAsync(server, wavs.Select(w => ("one-" + Guid.NewGuid().ToString("N")[..10], "audio", w, T0, T0.AddHours(1))).ToArray());

    private async Task<IReadOnlyList<long>> ImportRowsAsync(TestServer server, params (string Sid, string Type, string Path, DateTimeOffset Start, DateTimeOffset Stop)[] rows)
    {
        var manifest = Path.Combine(_work, $"m-{Guid.NewGuid():N}.csv");
        var lines = rows.Select(r =>
        {
            var coupleStart = rows.Where(x => x.Sid == r.Sid).Min(x => x.Start);
            var coupleStop = rows.Where(x => x.Sid == r.Sid).Max(x => x.Stop);
            return $"{r.Sid},{Iso(coupleStart)},{Iso(coupleStop)},100,200,{r.Type},{r.Path},{Iso(r.Start)},{Iso(r.Stop)}";
        });
        await File.WriteAllTextAsync(manifest, "sid,start,stop,calling_number,called_number,type,path,file_start,file_stop\n" + string.Join('\n', lines) + "\n");
        var (exit, _, error) = await server.CliAsync("", "import", manifest);
        Assert.True(exit == 0, error);
        var ids = new List<long>();
        foreach (var sid in rows.Select(r => r.Sid).Distinct())
        {
            ids.Add(await CoupleIdAsync(server.DatabaseArgs, sid));
        }

        return ids;
    }

    private async Task<string> ProbeAsync(byte[] media, string extension)
    {
        var path = Path.Combine(_work, $"{Guid.NewGuid():N}.{extension}");
        await File.WriteAllBytesAsync(path, media);
        return await Tool.RequireAsync("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,channels,sample_rate:format=duration", "-of", "default=noprint_wrappers=1", path);
    }

    private static double Duration(string probe) =>
        double.Parse(probe.Split('\n').First(l => l.StartsWith("duration=", StringComparison.Ordinal))[9..], CultureInfo.InvariantCulture);

    private static double SilenceEnd(string ffmpegLog) =>
        double.Parse(Regex.Match(ffmpegLog, @"silence_end: ([\d.]+)").Groups[1].Value, CultureInfo.InvariantCulture);
}
