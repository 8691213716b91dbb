using System.Globalization;
using System.Text;
using CallMedia.Calls;
using CallMedia.Media;
using CallMedia.Storage;

namespace CallMedia.Import;

/// <summary>
/// Demo recordings for a first start: generated with ffmpeg, then brought in through the importer like any
/// other recording. Deterministic, so every demo install holds the same couples (ids 1001–1028).
/// </summary>
public sealed class DemoData(ManifestImporter importer, Ffmpeg ffmpeg, MediaRoot media)
{
    public const long FirstId = 1001;
    public const int MixedVideoId = 1028;
    public const int TwoDirectionId = 1024;

    private static readonly DateTimeOffset Epoch = new(2026, 11, 16, 7, 30, 0, TimeSpan.Zero);

    private static readonly string[] Agents = ["Jiří Novák", "Zoë Müller", "François Lefèvre", "Søren Ørsted", "Łukasz Żółć", "Ágnes Szőke"];

    private static readonly string[] Customers =
    [
        "José Peña", "Björk Guðmundsdóttir", "Renée Côté", "Mårten Åberg", "Çağla Yıldız", "Dvořák Antonín", "Ørjan Bø",
        "Nguyễn Văn An", "Małgorzata Wójcik", "Sérgio Conceição", "Żaneta Kęska", "Émile Zola", "Ana Müller-Lüdenscheidt",
    ];

    /// <summary>A generated file, before import.</summary>
    private sealed record FileSpec(int Type, string SourcePath, DateTimeOffset Start, DateTimeOffset Stop);

    private sealed record Plan(long Id, DateTimeOffset Start, TimeSpan Duration, string Kind, int Agent, int Customer, bool Inbound);

    public async Task<int> SeedAsync(CancellationToken ct = default)
    {
        var work = Path.Combine(media.TempDir, "demo-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var plans = MakePlans();
            var generated = new Dictionary<long, IReadOnlyList<FileSpec>>();
            await Parallel.ForEachAsync(
                plans,
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount), CancellationToken = ct },
                async (plan, token) =>
                {
                    var files = await GenerateAsync(plan, work, token);
                    lock (generated)
                    {
                        generated[plan.Id] = files;
                    }
                });

            // The demo comes in like any archive: a manifest, imported.
            var manifest = new StringBuilder("sid,start,stop,calling_number,calling_name,called_number,called_name,type,path,file_start,file_stop,couple_id\n");
            foreach (var plan in plans)
            {
                var agent = $"20{plan.Agent + 1:00}";
                var customer = CustomerNumber(plan.Customer);
                var sid = string.Create(CultureInfo.InvariantCulture, $"{plan.Start:yyyyMMdd.HHmmss}.{plan.Id}@pbx-demo");
                string[] parties = plan.Inbound
                    ? [customer, Customers[plan.Customer], agent, Agents[plan.Agent]]
                    : [agent, Agents[plan.Agent], customer, Customers[plan.Customer]];
                foreach (var file in generated[plan.Id])
                {
                    string[] fields =
                    [
                        sid, Iso(plan.Start), Iso(plan.Start + plan.Duration), .. parties, TypeName(file.Type), file.SourcePath,
                        Iso(file.Start), Iso(file.Stop), plan.Id.ToString(CultureInfo.InvariantCulture),
                    ];
                    manifest.AppendJoin(',', fields.Select(Csv)).Append('\n');
                }
            }

            var manifestPath = Path.Combine(work, "demo.csv");
            await File.WriteAllTextAsync(manifestPath, manifest.ToString(), ct);
            var summary = await importer.ImportAsync(manifestPath, link: false, dryRun: false, progress: null, ct);
            if (summary.Errors.Count > 0)
            {
                throw new InvalidOperationException($"demo import failed: line {summary.Errors[0].Line}: {summary.Errors[0].Message}");
            }

            return plans.Count;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static List<Plan> MakePlans()
    {
        var random = new Random(20261116);
        var plans = new List<Plan>();
        var at = Epoch;
        for (var id = FirstId; id <= MixedVideoId; id++)
        {
            at += TimeSpan.FromMinutes(random.Next(20, 540));
            var kind = id switch
            {
                <= 1020 => "mp3",
                <= 1023 => "wav",
                TwoDirectionId => "two-direction",
                <= 1027 => "recd",
                _ => "mixed",
            };
            plans.Add(new Plan(id, at, TimeSpan.FromSeconds(random.Next(8, 41)), kind, random.Next(Agents.Length), random.Next(Customers.Length), random.Next(2) == 0));
        }

        return plans;
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string Csv(string field) => "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string TypeName(int type) => MediaType.Names(type)[0];

    private static string CustomerNumber(int index) => string.Create(CultureInfo.InvariantCulture, $"+4206021{index * 7919 % 100000:00000}");

    private async Task<IReadOnlyList<FileSpec>> GenerateAsync(Plan plan, string work, CancellationToken ct)
    {
        var seconds = plan.Duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        var stop = plan.Start + plan.Duration;
        var baseName = Path.Combine(work, plan.Id.ToString(CultureInfo.InvariantCulture));
        var tone = 300 + (plan.Id % 17 * 40);
        switch (plan.Kind)
        {
            case "mp3":
            case "wav":
                {
                    var path = $"{baseName}.{plan.Kind}";
                    await ffmpeg.RunAsync([.. Voice(tone, seconds), .. AudioCodec(plan.Kind), path], ct: ct);
                    return [new FileSpec(MediaType.Audio, path, plan.Start, stop)];
                }

            case "two-direction":
                {
                    // The callee's leg starts 1.5 s after the caller's: merging must pad it with silence.
                    var offset = TimeSpan.FromSeconds(1.5);
                    var calleeSeconds = (plan.Duration - offset).TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
                    var caller = $"{baseName}-caller.wav";
                    var callee = $"{baseName}-callee.wav";
                    await ffmpeg.RunAsync([.. Voice(tone, seconds), .. AudioCodec("wav"), caller], ct: ct);
                    await ffmpeg.RunAsync([.. Voice(tone * 2, calleeSeconds), .. AudioCodec("wav"), callee], ct: ct);
                    return [new FileSpec(MediaType.Audio, caller, plan.Start, stop), new FileSpec(MediaType.Audio, callee, plan.Start + offset, stop)];
                }

            case "recd":
                {
                    var audio = $"{baseName}.mp3";
                    var capture = $"{baseName}.mkv";
                    await ffmpeg.RunAsync([.. Voice(tone, seconds), .. AudioCodec("mp3"), audio], ct: ct);
                    await ffmpeg.RunAsync([.. Screen(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", "matroska", capture], ct: ct);
                    return [new FileSpec(MediaType.Audio, audio, plan.Start, stop), new FileSpec(MediaType.Recd, capture, plan.Start, stop)];
                }

            default:
                {
                    var audio = $"{baseName}.mp3";
                    var capture = $"{baseName}.mkv";
                    var video = $"{baseName}.mp4";
                    await ffmpeg.RunAsync([.. Voice(tone, seconds), .. AudioCodec("mp3"), audio], ct: ct);
                    await ffmpeg.RunAsync([.. Screen(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", "matroska", capture], ct: ct);
                    await ffmpeg.RunAsync(
                        [
                            .. MediaFormats.Input(capture, "mkv"), .. MediaFormats.Input(audio, "mp3"), "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast",
                        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", "-shortest", video,
                    ],
                        ct: ct);
                    return
                    [
                        new FileSpec(MediaType.Audio, audio, plan.Start, stop),
                    new FileSpec(MediaType.Recd, capture, plan.Start, stop),
                    new FileSpec(MediaType.Video, video, plan.Start, stop),
                ];
                }
        }
    }

    /// <summary>A tone whose loudness rises and falls like speech, at telephone quality.</summary>
    private static string[] Voice(long frequency, string seconds) =>
    [
        "-f", "lavfi", "-i",
        string.Create(CultureInfo.InvariantCulture, $"aevalsrc=0.5*sin(2*PI*{frequency}*t)*(0.55+0.45*sin(2*PI*0.4*t)):s=8000:d={seconds}"),
    ];

    private static string[] Screen(string seconds) =>
        ["-f", "lavfi", "-i", $"testsrc2=size=640x360:rate=10:duration={seconds}"];

    private static string[] AudioCodec(string format) => format == "wav"
        ? ["-ac", "1", "-c:a", "pcm_s16le"]
        : ["-ac", "1", "-c:a", "libmp3lame", "-b:a", "32k"];
}
