using System.CommandLine;
using System.Globalization;
using CallMedia.Import;

namespace CallMedia.Cli;

/// <summary>
/// <c>callmedia import &lt;manifest.csv&gt; [--link] [--dry-run]</c>. Import may be the first thing run on a new
/// deployment, so like <c>serve</c> it creates the data folder and database when there are none.
/// </summary>
public static class ImportCommand
{
    public static Command Create(CliContext cli)
    {
        var manifest = CliContext.Arg("manifest.csv", "manifest path");
        var link = CliContext.Flag("--link", "link the files in place instead of copying them (needs Import:AllowedRoots)");
        var dryRun = CliContext.Flag("--dry-run", "check the manifest and report what would be added; change nothing");
        var import = CliContext.Verb("import", "bring recordings in from a CSV manifest (creates the data folder and database when there are none)", manifest, link, dryRun);
        cli.WithServices(import, (p, services, ct) => RunAsync(p.GetValue(manifest)!, p.GetValue(link), p.GetValue(dryRun), services, cli.Console, ct), mayCreate: true);
        return import;
    }

    private static async Task<int> RunAsync(string manifest, bool link, bool dryRun, IServiceProvider services, CliConsole console, CancellationToken ct)
    {
        if (!File.Exists(manifest))
        {
            throw new UsageException($"no manifest at {manifest}");
        }

        var progress = new ProgressLine(console);
        ImportSummary summary;
        try
        {
            summary = await services.GetRequiredService<ManifestImporter>().ImportAsync(manifest, link, dryRun, new Reporter(progress), ct);
        }
        catch (BadManifestException ex)
        {
            throw new CliFailureException(ex.Message);
        }
        catch (InvalidDataException ex)
        {
            // An option that this configuration does not allow (--link).
            throw new UsageException(ex.Message);
        }
        finally
        {
            progress.Finish();
        }

        foreach (var error in summary.Errors)
        {
            await console.Error.WriteLineAsync($"line {error.Line}: {error.Message}");
        }

        var seconds = Math.Max(progress.Elapsed.TotalSeconds, 0.001);
        var verb = dryRun ? "would add" : "added";
        await console.Out.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"import: {verb} {summary.CouplesAdded} couples (+{summary.CouplesExtended} extended), {summary.FilesAdded} files, {summary.BytesAdded / 1e6:0.0} MB; " +
            $"{summary.CouplesUnchanged} couples unchanged; {summary.CouplesRejected} rejected; " +
            $"{seconds:0.0} s ({summary.FilesAdded / seconds:0} files/s, {summary.BytesAdded / 1e6 / seconds:0.0} MB/s)"));
        if (summary.Errors.Count > 0)
        {
            await console.Error.WriteLineAsync($"callmedia: import finished with {summary.Errors.Count} rejected rows ({summary.CouplesRejected} couples not stored)");
            return 1;
        }

        if (!dryRun)
        {
            await CliApp.AuditAdminAsync(services, $"admin.import:{Path.GetFileName(manifest)}:{summary.FilesAdded}");
        }

        return 0;
    }

    /// <summary>Files, bytes, rate and ETA on the shared progress line.</summary>
    private sealed class Reporter(ProgressLine progress) : IProgress<ImportProgress>
    {
        public void Report(ImportProgress value)
        {
            var seconds = Math.Max(progress.Elapsed.TotalSeconds, 0.001);
            var rate = value.BytesDone / seconds;
            var eta = rate > 0 ? TimeSpan.FromSeconds((value.BytesTotal - value.BytesDone) / rate) : TimeSpan.Zero;
            progress.Report(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"import: {value.FilesDone}/{value.FilesTotal} files, {value.BytesDone / 1e6:0.0}/{value.BytesTotal / 1e6:0.0} MB, {rate / 1e6:0.0} MB/s, ETA {eta:hh\\:mm\\:ss}"),
                final: value.FilesDone >= value.FilesTotal);
        }
    }
}
