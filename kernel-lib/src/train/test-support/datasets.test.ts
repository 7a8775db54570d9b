import { describe, expect, it } from 'vitest';
import { loadDataset, takeRows, takeY, trainTestSplit } from './datasets';

describe('datasets fixtures', () => {
  it('load with the right shapes and tasks', () => {
    const shapes = {
      breast_cancer: [569, 30, 'binary'],
      digits: [1797, 64, 'multiclass'],
      diabetes: [442, 10, 'regression'],
      wine: [178, 13, 'multiclass'],
      iris: [150, 4, 'multiclass'],
    } as const;
    for (const [name, [n, f, task]] of Object.entries(shapes)) {
      const ds = loadDataset(name as keyof typeof shapes);
      expect(ds.columns.length).toBe(f);
      expect(ds.featureNames.length).toBe(f);
      expect(ds.y.length).toBe(n);
      expect(ds.columns.every((c) => c.length === n)).toBe(true);
      expect(ds.task).toBe(task);
    }
    expect(loadDataset('iris').columns[0][0]).toBe(5.1);
  });

  it('splits deterministically', () => {
    const a = trainTestSplit(569, 0.25, 42);
    const b = trainTestSplit(569, 0.25, 42);
    expect(a.test.length).toBe(143);
    expect(a.train.length).toBe(426);
    expect([...a.test]).toEqual([...b.test]);
    expect([...a.test]).not.toEqual([...trainTestSplit(569, 0.25, 7).test]);
    expect(new Set([...a.train, ...a.test]).size).toBe(569);
    const ds = loadDataset('iris');
    expect(takeRows(ds.columns, [2, 0])[0]).toEqual(Float64Array.from([ds.columns[0][2], ds.columns[0][0]]));
    expect(takeY(ds.y, [149])[0]).toBe(2);
  });
});
