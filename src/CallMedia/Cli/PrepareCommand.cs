using System.CommandLine;
using System.Globalization;
using CallMedia.Calls;
using CallMedia.Data;
using CallMedia.Media;
using Dapper;

namespace CallMedia.Cli;

/// <summary><c>callmedia prepare &lt;couple-id&gt;... | --all-unmixed</c>: mixes captures in batch, with a progress line.</summary>
public static class PrepareCommand
{
    public static Command Create(CliContext cli)
    {
        var couples = CliContext.Args("couple-id", "couple ids", minimum: 0);
        var all = CliContext.Flag("--all-unmixed", "every couple with a screen capture and no video yet");
        var prepare = CliContext.Verb("prepare", "mix screen captures with their audio into videos, with a progress line", couples, all);
        cli.WithServices(prepare, (p, services, ct) => RunAsync(p.GetValue(couples) ?? [], p.GetValue(all), services, cli.Console, ct));
        return prepare;
    }

    private static async Task<int> RunAsync(string[] words, bool allUnmixed, IServiceProvider services, CliConsole console, CancellationToken ct)
    {
        if (allUnmixed && words.Length > 0)
        {
            throw new UsageException("name couple ids or --all-unmixed, not both");
        }

        var jobs = services.GetRequiredService<PrepareJobs>();
        var runner = services.GetRequiredService<PrepareRunner>();
        var ids = allUnmixed ? await UnmixedAsync(services.GetRequiredService<Database>(), ct) : ParseIds(words);
        if (ids.Count == 0)
        {
            await console.Out.WriteLineAsync("prepare: nothing to do");
            return 0;
        }

        var calls = services.GetRequiredService<CallStore>();
        var known = await calls.GetCouplesAsync(ids, ct);
        var missing = ids.FirstOrDefault(id => !known.ContainsKey(id));
        if (missing != 0)
        {
            throw new CliFailureException($"no couple {missing}");
        }

        var jobIds = new List<long>();
        foreach (var id in ids)
        {
            jobIds.Add(await jobs.EnqueueAsync(id, ct));
        }

        // This process works the queue itself; a running server may take some of the jobs, which is as good.
        using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var work = Task.Run(
            async () =>
            {
                while (!done.IsCancellationRequested)
                {
                    var job = await jobs.ClaimAsync(done.Token);
                    if (job is null)
                    {
                        await jobs.Wake.WaitAsync(TimeSpan.FromMilliseconds(500), done.Token);
                        continue;
                    }

                    await runner.RunAsync(job, done.Token);
                }
            },
            done.Token);

        var statuses = new List<JobStatus>();
        var progress = new ProgressLine(console);
        while (true)
        {
            statuses.Clear();
            foreach (var id in jobIds)
            {
                statuses.Add((await jobs.GetAsync(id, ct))!);
            }

            var finished = statuses.Count(s => s.Finished);
            var percent = statuses.Sum(s => s.Finished ? 100 : s.Progress) / statuses.Count;
            var bar = new string('#', (int)(percent / 5)).PadRight(20, '.');
            progress.Report(string.Create(CultureInfo.InvariantCulture, $"prepare: [{bar}] {percent,3}%  {finished}/{statuses.Count} videos"), final: finished == statuses.Count);
            if (finished == statuses.Count)
            {
                progress.Finish();
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), ct);
        }

        await done.CancelAsync();
        try
        {
            await work;
        }
        catch (OperationCanceledException)
        {
            // The queue loop ends here.
        }

        foreach (var s in statuses.Where(s => s.State == JobState.Failed))
        {
            await console.Error.WriteLineAsync($"couple {s.CoupleId}: {s.Error}");
        }

        var failed = statuses.Count(s => s.State == JobState.Failed);
        await console.Out.WriteLineAsync($"prepare: {statuses.Count - failed} videos ready, {failed} failed");
        await CliApp.AuditAdminAsync(services, $"admin.prepare:{string.Join('+', ids)}", failed == 0 ? "ok" : "partial");
        if (failed > 0)
        {
            await console.Error.WriteLineAsync($"callmedia: {failed} of {statuses.Count} videos could not be prepared");
            return 1;
        }

        return 0;
    }

    private static List<long> ParseIds(IEnumerable<string> words)
    {
        var ids = new List<long>();
        foreach (var w in words)
        {
            ids.Add(long.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0
                ? id
                : throw new UsageException($"'{w}' is not a couple id"));
        }

        return ids.Count > 0 ? ids : throw new UsageException("name couple ids, or --all-unmixed");
    }

    private static async Task<List<long>> UnmixedAsync(Database db, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<long>(
            $"SELECT id FROM couples WHERE (types & {MediaType.Recd}) <> 0 AND (types & {MediaType.Video}) = 0 ORDER BY id")).ToList();
    }
}
