import Testing
import TestSupport

@Suite struct ChildProcessBudgetTests {
    actor Order {
        var names: [String] = []
        func append(_ name: String) { names.append(name) }
    }

    @Test func sharesAreGrantedFirstComeFirstServed() async {
        let budget = ChildProcessBudget(shares: 2)
        #expect(await budget.acquire(1) == 1)
        #expect(await budget.acquire(1) == 1)
        let order = Order()
        // The whole budget is asked for first, then one share: the whole
        // budget goes first although one share is free before two are.
        let whole = Task {
            let granted = await budget.acquire(.max)
            await order.append("whole")
            budget.release(granted)
        }
        while budget.waiting < 1 { await Task.yield() }
        let one = Task {
            let granted = await budget.acquire(1)
            await order.append("one")
            budget.release(granted)
        }
        while budget.waiting < 2 { await Task.yield() }
        budget.release(1)
        budget.release(1)
        await whole.value
        await one.value
        #expect(await order.names == ["whole", "one"])
    }
}
